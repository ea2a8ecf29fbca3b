"""The same whoami behind DRF's TokenAuthentication, django-rest-knox and django-ninja."""

from __future__ import annotations

from django.http import HttpRequest
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.reference.models import ApiToken
from bench.reference.views import digest


class DrfWhoami(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"data": {"user": {"id": user.pk, "email": user.email}}})


class KnoxWhoami(DrfWhoami):
    authentication_classes = [KnoxTokenAuthentication]


class DigestBearer(HttpBearer):
    """ninja's bearer auth: the token by its SHA-256 digest, with its user (one query)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        try:
            return ApiToken.objects.select_related("user").get(digest=digest(token))
        except ApiToken.DoesNotExist:
            return None


class TokenOut(Schema):
    id: int
    name: str
    account_id: int


class UserOut(Schema):
    id: int
    email: str


class WhoamiOut(Schema):
    token: TokenOut
    user: UserOut


class DataOut(Schema):
    data: WhoamiOut


ninja_api = NinjaAPI(urls_namespace="reference-ninja", auth=DigestBearer(), docs_url=None)


@ninja_api.get("/whoami", response=DataOut)
def ninja_whoami(request: HttpRequest) -> dict[str, object]:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return {"data": {"token": token, "user": token.user}}
