from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import LoginForm
from config import observability, views
from config.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("robots.txt", views.robots),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("api/v1/", api.urls),
    path("", include("enrolment.urls")),  # /pupils/new/ before /pupils/<number>/
    path("", include("registry.urls")),
    path("", include("workflow.urls")),
    path("", include("portal.urls")),
    path("schools/", include("rosters.urls")),
    path("schools/", include("photos.urls")),
    path("transfers/", include("transfers.urls")),
    path("changes/", include("changes.urls")),
    path("province/", include("duplicates.urls")),
    path("province/", include("changes.case_urls")),
    path("province/", include("administration.urls")),
    path("province/", include("exchange.urls")),
    path("statistics/", include("reports.urls")),
    path("documents/", include("reports.document_urls")),
]
