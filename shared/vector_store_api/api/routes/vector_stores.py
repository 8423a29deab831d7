"""/v1/vector_stores (the stores themselves)."""


from fastapi import APIRouter, Depends

from ...models.vector_stores import CreateVectorStoreRequest, UpdateVectorStoreRequest
from ..deps import (
    NewestFirstPage,
    ReaderDep,
    ServicesDep,
    TenantDep,
    json_body,
    rate_limit,
    reader,
    unscoped_writer,
    writer,
)
from ..responses import respond, respond_page

router = APIRouter(prefix="/v1/vector_stores", tags=["vector_stores"], dependencies=[Depends(reader), Depends(rate_limit)])


@router.post("", dependencies=[Depends(unscoped_writer)])
def create_vector_store(
    *,
    body: CreateVectorStoreRequest = Depends(json_body(CreateVectorStoreRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond(svc.stores.create(tenant, body), svc.poll_after_ms)


@router.get("")
def list_vector_stores(
    *,
    page: NewestFirstPage,
    tenant: TenantDep,
    caller: ReaderDep,
    svc: ServicesDep,
):
    return respond_page(svc.stores.list(tenant, page, caller.vector_store_ids))


@router.get("/{vector_store_id}")
def retrieve_vector_store(*, vector_store_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.retrieve(tenant, vector_store_id), svc.poll_after_ms)


@router.post("/{vector_store_id}", dependencies=[Depends(writer)])
def update_vector_store(
    *,
    vector_store_id: str,
    body: UpdateVectorStoreRequest = Depends(json_body(UpdateVectorStoreRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond(svc.stores.update(tenant, vector_store_id, body), svc.poll_after_ms)


@router.delete("/{vector_store_id}", dependencies=[Depends(writer)])
def delete_vector_store(*, vector_store_id: str, tenant: TenantDep, svc: ServicesDep):
    return respond(svc.stores.delete(tenant, vector_store_id))
