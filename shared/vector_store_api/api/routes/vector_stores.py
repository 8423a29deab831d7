"""/v1/vector_stores (the stores themselves)."""


from fastapi import APIRouter, Depends, Response

from ...models.vector_stores import (
    CreateVectorStoreRequest,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreList,
)
from ..deps import (
    JsonBody,
    NewestFirstPage,
    ReaderDep,
    ServicesDep,
    TenantDep,
    VectorStoreIdPath,
    rate_limit,
    reader,
    unscoped_writer,
    writer,
)
from ..openapi import COMMON_ERRORS, NOT_FOUND
from ..responses import respond, respond_page

router = APIRouter(prefix="/v1/vector_stores", tags=["vector_stores"], dependencies=[Depends(reader), Depends(rate_limit)], responses=COMMON_ERRORS)


@router.post("", dependencies=[Depends(unscoped_writer)], response_model=VectorStore, responses=NOT_FOUND)
def create_vector_store(
    *,
    body: CreateVectorStoreRequest = Depends(JsonBody(CreateVectorStoreRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.stores.create(tenant, body), svc.poll_after_ms)


@router.get("", response_model=VectorStoreList)
def list_vector_stores(
    *,
    page: NewestFirstPage,
    tenant: TenantDep,
    caller: ReaderDep,
    svc: ServicesDep,
) -> Response:
    return respond_page(svc.stores.list(tenant, page, caller.vector_store_ids))


@router.get("/{vector_store_id}", response_model=VectorStore, responses=NOT_FOUND)
def retrieve_vector_store(*, vector_store_id: VectorStoreIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.retrieve(tenant, vector_store_id), svc.poll_after_ms)


@router.post("/{vector_store_id}", dependencies=[Depends(writer)], response_model=VectorStore, responses=NOT_FOUND)
def update_vector_store(
    *,
    vector_store_id: VectorStoreIdPath,
    body: UpdateVectorStoreRequest = Depends(JsonBody(UpdateVectorStoreRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.stores.update(tenant, vector_store_id, body), svc.poll_after_ms)


@router.delete(
    "/{vector_store_id}", dependencies=[Depends(writer)], response_model=VectorStoreDeleted, responses=NOT_FOUND
)
def delete_vector_store(*, vector_store_id: VectorStoreIdPath, tenant: TenantDep, svc: ServicesDep) -> Response:
    return respond(svc.stores.delete(tenant, vector_store_id))
