"""Keyward's URLs plus the same whoami-style endpoint behind DRF and knox authentication."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as keyward_urlpatterns
from tokens import crypto
from tokens.auth.principal import bearer_sql


class DrfWhoami(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        user = request.user
        return Response({"data": {"user": {"id": user.pk, "email": user.email, "name": user.name}}})


class KnoxWhoami(DrfWhoami):
    authentication_classes = [KnoxTokenAuthentication]


def lookup_only(request):
    """Reference: the bearer lookup's one SQL query and nothing else (no checks, no JSON)."""
    credential = request.META["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    digest = crypto.digest(credential, settings.KEYWARD_TOKEN_PEPPERS[0])
    with connection.cursor() as cursor:
        cursor.execute(bearer_sql(1, in_account=False), {"d0": digest})
        cursor.fetchone()
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("bench/lookup-only", lookup_only),
    path("bench/drf/whoami", DrfWhoami.as_view()),
    path("bench/knox/whoami", KnoxWhoami.as_view()),
    *keyward_urlpatterns,
]
