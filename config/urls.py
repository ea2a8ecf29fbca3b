from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from tokens.api import api, whoami_view

admin.site.site_header = "Keyward support"
admin.site.site_title = "Keyward support"
admin.site.index_title = "Tokens, accounts and the event log"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/whoami", whoami_view),  # the hot path, served without ninja's dispatch
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("accounts.urls")),
    path("", include("tokens.event_urls")),
    path("", include("tokens.urls")),
]
