"""/v1/files"""

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from ...models.common import PageRequest
from ...models.files import FILES_LIST_MAX_LIMIT
from ..deps import ServicesDep, TenantDep, WriterDep, rate_limit, reader, writer
from ..responses import respond, respond_page

router = APIRouter(prefix="/v1/files", tags=["files"], dependencies=[Depends(reader), Depends(rate_limit)])


@router.post("", dependencies=[Depends(writer)])
def create_file(
    *,
    file: UploadFile = File(...),
    purpose: str = Form(...),
    expires_after_anchor: str | None = Form(None, alias="expires_after[anchor]"),
    expires_after_seconds: int | None = Form(None, alias="expires_after[seconds]"),
    tenant: TenantDep,
    svc: ServicesDep,
):
    created = svc.files.upload(
        tenant, file.filename or "", file.file, purpose, expires_after_anchor, expires_after_seconds
    )
    return respond(created)


@router.get("")
def list_files(
    *,
    purpose: str | None = None,
    limit: int = Query(FILES_LIST_MAX_LIMIT, ge=1, le=FILES_LIST_MAX_LIMIT),
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond_page(svc.files.list(tenant, purpose, PageRequest(limit, order, after)))


@router.get("/{file_id}")
def retrieve_file(*, file_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.files.retrieve(tenant, file_id))


@router.delete("/{file_id}")
def delete_file(*, file_id: str, tenant: TenantDep, caller: WriterDep, svc: ServicesDep):
    return respond(svc.files.delete(tenant, file_id, caller.vector_store_ids))


@router.get("/{file_id}/content")
def file_content(*, file_id: str, tenant: TenantDep, svc: ServicesDep):
    file, chunks = svc.files.content(tenant, file_id)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "content-length": str(file.bytes),
            "content-disposition": f'attachment; filename="{_header_safe(file.filename)}"',
        },
    )


def _header_safe(filename: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' and ord(c) < 128 else "_" for c in filename)
