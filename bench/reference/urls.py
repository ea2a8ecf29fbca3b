from django.urls import path

from bench.reference import views
from bench.reference.frameworks import DrfWhoami, KnoxWhoami, ninja_api

urlpatterns = [
    path("healthz", views.healthz),
    path("raw/whoami", views.raw_whoami),
    path("drf/whoami", DrfWhoami.as_view()),
    path("knox/whoami", KnoxWhoami.as_view()),
    path("ninja/", ninja_api.urls),
    path("accounts/<int:account_id>/zones/<int:zone_id>", views.zone),
    path("accounts/<int:account_id>/zones", views.zones),
]
