"""/v1/vector_stores/{id}/files and /v1/vector_stores/{id}/file_batches"""

from typing import Literal

from fastapi import APIRouter, Depends, Response

from ...models.vector_stores import (
    CreateFileBatchRequest,
    CreateVectorStoreFileRequest,
    FileContentPage,
    UpdateVectorStoreFileRequest,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
    VectorStoreFileList,
)
from ..deps import (
    MAX_BATCH_JSON_BYTES,
    BatchIdPath,
    FileIdPath,
    JsonBody,
    NewestFirstPage,
    ServicesDep,
    TenantDep,
    VectorStoreIdPath,
    WriterDep,
    rate_limit,
    reader,
    store_write_limit,
    writer,
)
from ..openapi import COMMON_ERRORS, NOT_FOUND
from ..responses import respond, respond_page

# Every route names a vector store, hence NOT_FOUND on all of them.
router = APIRouter(
    prefix="/v1/vector_stores/{vector_store_id}",
    tags=["vector_store_files"],
    dependencies=[Depends(reader), Depends(rate_limit)],
    responses=COMMON_ERRORS | NOT_FOUND,
)

StatusFilter = Literal["in_progress", "completed", "failed", "cancelled"]


@router.post("/files", dependencies=[Depends(store_write_limit)], response_model=VectorStoreFile)
def create_vector_store_file(
    *,
    vector_store_id: VectorStoreIdPath,
    body: CreateVectorStoreFileRequest = Depends(JsonBody(CreateVectorStoreFileRequest)),
    tenant: TenantDep,
    caller: WriterDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.stores.attach(tenant, vector_store_id, body, caller.file_scope), svc.poll_after_ms)


@router.get("/files", response_model=VectorStoreFileList)
def list_vector_store_files(
    *,
    vector_store_id: VectorStoreIdPath,
    filter: StatusFilter | None = None,
    page: NewestFirstPage,
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.stores.list_files(tenant, vector_store_id, filter, page))


@router.get("/files/{file_id}", response_model=VectorStoreFile)
def retrieve_vector_store_file(*, vector_store_id: VectorStoreIdPath, file_id: FileIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.retrieve_file(tenant, vector_store_id, file_id), svc.poll_after_ms)


@router.post("/files/{file_id}", dependencies=[Depends(writer)], response_model=VectorStoreFile)
def update_vector_store_file(
    *,
    vector_store_id: VectorStoreIdPath,
    file_id: FileIdPath,
    body: UpdateVectorStoreFileRequest = Depends(JsonBody(UpdateVectorStoreFileRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.stores.update_file(tenant, vector_store_id, file_id, body.attributes), svc.poll_after_ms)


@router.delete("/files/{file_id}", dependencies=[Depends(writer)], response_model=VectorStoreFileDeleted)
def delete_vector_store_file(*, vector_store_id: VectorStoreIdPath, file_id: FileIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.detach(tenant, vector_store_id, file_id))


@router.get("/files/{file_id}/content", response_model=FileContentPage)
def vector_store_file_content(*, vector_store_id: VectorStoreIdPath, file_id: FileIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.file_content(tenant, vector_store_id, file_id))


@router.post("/file_batches", dependencies=[Depends(store_write_limit)], response_model=VectorStoreFileBatch)
def create_file_batch(
    *,
    vector_store_id: VectorStoreIdPath,
    body: CreateFileBatchRequest = Depends(JsonBody(CreateFileBatchRequest, MAX_BATCH_JSON_BYTES)),
    tenant: TenantDep,
    caller: WriterDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.stores.create_batch(tenant, vector_store_id, body, caller.file_scope), svc.poll_after_ms)


@router.get("/file_batches/{batch_id}", response_model=VectorStoreFileBatch)
def retrieve_file_batch(*, vector_store_id: VectorStoreIdPath, batch_id: BatchIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.retrieve_batch(tenant, vector_store_id, batch_id), svc.poll_after_ms)


@router.post("/file_batches/{batch_id}/cancel", dependencies=[Depends(writer)], response_model=VectorStoreFileBatch)
def cancel_file_batch(*, vector_store_id: VectorStoreIdPath, batch_id: BatchIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.cancel_batch(tenant, vector_store_id, batch_id), svc.poll_after_ms)


@router.get("/file_batches/{batch_id}/files", response_model=VectorStoreFileList)
def list_file_batch_files(
    *,
    vector_store_id: VectorStoreIdPath,
    batch_id: BatchIdPath,
    filter: StatusFilter | None = None,
    page: NewestFirstPage,
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(
        svc.stores.list_batch_files(tenant, vector_store_id, batch_id, filter, page)
    )
