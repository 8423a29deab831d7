"""/v1/vector_stores/{id}/search"""

from fastapi import APIRouter, Depends

from ...models.search import SearchRequest
from ..deps import ServicesDep, TenantDep, json_body, rate_limit, reader
from ..responses import respond

router = APIRouter(prefix="/v1/vector_stores", tags=["search"], dependencies=[Depends(reader), Depends(rate_limit)])


@router.post("/{vector_store_id}/search")
def search_vector_store(
    *,
    vector_store_id: str,
    body: SearchRequest = Depends(json_body(SearchRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
):
    return respond(svc.search.search(tenant, vector_store_id, body))
