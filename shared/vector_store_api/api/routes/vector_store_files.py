"""/v1/vector_stores/{id}/files and /v1/vector_stores/{id}/file_batches"""

from typing import Literal

from fastapi import APIRouter, Depends

from ...models.vector_stores import (
    CreateFileBatchRequest,
    CreateVectorStoreFileRequest,
    UpdateVectorStoreFileRequest,
)
from ..deps import (
    MAX_BATCH_JSON_BYTES,
    NewestFirstPage,
    ServicesDep,
    TenantDep,
    WriterDep,
    json_body,
    rate_limit,
    reader,
    store_write_limit,
    writer,
)
from ..responses import respond, respond_page

router = APIRouter(prefix="/v1/vector_stores/{vector_store_id}", tags=["vector_store_files"], dependencies=[Depends(reader), Depends(rate_limit)])

StatusFilter = Literal["in_progress", "completed", "failed", "cancelled"]


@router.post("/files", dependencies=[Depends(store_write_limit)])
def create_vector_store_file(
    *,
    vector_store_id: str,
    body: CreateVectorStoreFileRequest = Depends(json_body(CreateVectorStoreFileRequest)),
    tenant: TenantDep,
    caller: WriterDep,
    svc: ServicesDep,
):
    return respond(svc.stores.attach(tenant, vector_store_id, body, caller.file_scope), svc.poll_after_ms)


@router.get("/files")
def list_vector_store_files(
    *,
    vector_store_id: str,
    filter: StatusFilter | None = None,
    page: NewestFirstPage,
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond_page(svc.stores.list_files(tenant, vector_store_id, filter, page))


@router.get("/files/{file_id}")
def retrieve_vector_store_file(*, vector_store_id: str, file_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.retrieve_file(tenant, vector_store_id, file_id), svc.poll_after_ms)


@router.post("/files/{file_id}", dependencies=[Depends(writer)])
def update_vector_store_file(
    *,
    vector_store_id: str,
    file_id: str,
    body: UpdateVectorStoreFileRequest = Depends(json_body(UpdateVectorStoreFileRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond(svc.stores.update_file(tenant, vector_store_id, file_id, body.attributes), svc.poll_after_ms)


@router.delete("/files/{file_id}", dependencies=[Depends(writer)])
def delete_vector_store_file(*, vector_store_id: str, file_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.detach(tenant, vector_store_id, file_id))


@router.get("/files/{file_id}/content")
def vector_store_file_content(*, vector_store_id: str, file_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.file_content(tenant, vector_store_id, file_id))


@router.post("/file_batches", dependencies=[Depends(store_write_limit)])
def create_file_batch(
    *,
    vector_store_id: str,
    body: CreateFileBatchRequest = Depends(json_body(CreateFileBatchRequest, MAX_BATCH_JSON_BYTES)),
    tenant: TenantDep,
    caller: WriterDep,
    svc: ServicesDep,
):
    return respond(svc.stores.create_batch(tenant, vector_store_id, body, caller.file_scope), svc.poll_after_ms)


@router.get("/file_batches/{batch_id}")
def retrieve_file_batch(*, vector_store_id: str, batch_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.retrieve_batch(tenant, vector_store_id, batch_id), svc.poll_after_ms)


@router.post("/file_batches/{batch_id}/cancel", dependencies=[Depends(writer)])
def cancel_file_batch(*, vector_store_id: str, batch_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.cancel_batch(tenant, vector_store_id, batch_id), svc.poll_after_ms)


@router.get("/file_batches/{batch_id}/files")
def list_file_batch_files(
    *,
    vector_store_id: str,
    batch_id: str,
    filter: StatusFilter | None = None,
    page: NewestFirstPage,
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond_page(
        svc.stores.list_batch_files(tenant, vector_store_id, batch_id, filter, page)
    )
