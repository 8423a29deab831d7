"""/v1/files"""

from typing import Any, Callable, Coroutine, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from ...errors import InvalidRequest, file_too_large
from ...models.common import PageRequest
from ...models.files import (
    FILE_EXPIRY_MAX_SECONDS,
    FILE_EXPIRY_MIN_SECONDS,
    FILES_LIST_MAX_LIMIT,
    UPLOAD_PURPOSES,
    FileDeleted,
    FileList,
    FileObject,
)
from ..deps import FileIdPath, ReaderDep, ServicesDep, TenantDep, WriterDep, rate_limit, reader, services, writer
from ..errors import RaisedInBody
from ..openapi import BINARY_CONTENT, COMMON_ERRORS, NOT_FOUND
from ..responses import respond, respond_page

# Room for the multipart framing and the small form fields around the file (purpose, expires_after):
# a body longer than the file size limit plus this cannot carry an acceptable file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BoundedBodyRoute(APIRoute):
    """The request body is counted while it streams in, and reading stops once it is longer than the
    file size limit (MAX_FILE_BYTES) plus MULTIPART_OVERHEAD_BYTES: a 600 MB upload is refused with a 400
    after 512 MB have arrived, not after all of it was spooled and copied, and one whose Content-Length
    already says so before a byte is read. Starlette spools the file part to a temporary file (at most
    1 MB in memory; the file is closed, hence gone, when parsing stops), so memory stays bounded either
    way. The file part's own size is checked exactly before it is stored (FileService.upload)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            max_bytes: int = (await services(request)).files.max_bytes
            limit = max_bytes + MULTIPART_OVERHEAD_BYTES
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise file_too_large(max_bytes)
            return await handler(Request(request.scope, _counted(request.receive, limit, max_bytes)))

        return bounded


def _counted(receive: Receive, limit: int, max_bytes: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RaisedInBody(file_too_large(max_bytes))
        return message

    return counted


router = APIRouter(
    prefix="/v1/files",
    tags=["files"],
    dependencies=[Depends(reader), Depends(rate_limit)],
    route_class=BoundedBodyRoute,
    responses=COMMON_ERRORS,
)


async def one_file_part(request: Request) -> None:
    """One upload, one file: FastAPI would silently keep the last of several `file` parts."""
    parts = len((await request.form()).getlist("file"))  # the form FastAPI parsed (cached on the request)
    if parts > 1:
        raise InvalidRequest(
            f"Expected one 'file' part in the multipart body, got {parts}: upload one file per request.",
            param="file",
            code="invalid_value",
        )


@router.post("", dependencies=[Depends(writer), Depends(one_file_part)], response_model=FileObject)
def create_file(
    *,
    file: UploadFile = File(...),
    # Checked by the service (OpenAI's message); the schema lists what it accepts.
    purpose: str = Form(..., json_schema_extra={"enum": list(UPLOAD_PURPOSES)}),
    expires_after_anchor: str | None = Form(None, alias="expires_after[anchor]", json_schema_extra={"enum": ["created_at"]}),
    expires_after_seconds: int | None = Form(
        None,
        alias="expires_after[seconds]",
        json_schema_extra={"minimum": FILE_EXPIRY_MIN_SECONDS, "maximum": FILE_EXPIRY_MAX_SECONDS},
    ),
    tenant: TenantDep,
    caller: WriterDep,
    svc: ServicesDep,
) -> Response:
    created = svc.files.upload(
        tenant,
        file.filename or "",
        file.file,
        purpose,
        expires_after_anchor,
        expires_after_seconds,
        size=file.size,
        uploaded_by=caller.key_id,
    )
    return respond(created)


@router.get("", response_model=FileList)
def list_files(
    *,
    purpose: str | None = None,
    limit: int = Query(FILES_LIST_MAX_LIMIT, ge=1, le=FILES_LIST_MAX_LIMIT),
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    tenant: TenantDep,
    caller: ReaderDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.files.list(tenant, purpose, PageRequest(limit, order, after), caller.file_scope))


@router.get("/{file_id}", response_model=FileObject, responses=NOT_FOUND)
def retrieve_file(*, file_id: FileIdPath, tenant: TenantDep, caller: ReaderDep, svc: ServicesDep) -> Response:
    return respond(svc.files.retrieve(tenant, file_id, caller.file_scope))


@router.delete("/{file_id}", response_model=FileDeleted, responses=NOT_FOUND)
def delete_file(*, file_id: FileIdPath, tenant: TenantDep, caller: WriterDep, svc: ServicesDep) -> Response:
    return respond(svc.files.delete(tenant, file_id, caller.file_scope))


@router.get("/{file_id}/content", response_class=Response, responses=NOT_FOUND | BINARY_CONTENT)
def file_content(*, file_id: FileIdPath, tenant: TenantDep, caller: ReaderDep, svc: ServicesDep) -> StreamingResponse:
    file, chunks = svc.files.content(tenant, file_id, caller.file_scope)
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
