"""/v1/vector_stores/{id}/search"""

from fastapi import APIRouter, Depends, Response

from ...models.search import SearchRequest, SearchResultsPage
from ..deps import JsonBody, ServicesDep, TenantDep, VectorStoreIdPath, rate_limit, reader
from ..openapi import COMMON_ERRORS, NOT_FOUND
from ..responses import respond

router = APIRouter(prefix="/v1/vector_stores", tags=["search"], dependencies=[Depends(reader), Depends(rate_limit)], responses=COMMON_ERRORS)


@router.post("/{vector_store_id}/search", response_model=SearchResultsPage, responses=NOT_FOUND)
def search_vector_store(
    *,
    vector_store_id: VectorStoreIdPath,
    body: SearchRequest = Depends(JsonBody(SearchRequest)),
    tenant: TenantDep,
    svc: ServicesDep,
) -> Response:
    return respond(svc.search.search(tenant, vector_store_id, body))
