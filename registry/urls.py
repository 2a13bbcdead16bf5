from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from registry import views
from registry.ninja_api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", views.home, name="home"),
    path("overdue/", views.overdue, name="overdue"),
    path("pupils/", views.pupil_list, name="pupil_list"),
    path("pupils/new/", views.pupil_register, name="pupil_register"),
    path("pupils/<str:national_number>/", views.pupil_detail, name="pupil_detail"),
    path("schools/", include("schools.urls")),
    path("transfers/", include("transfers.urls")),
    path("changes/", include("changes.urls")),
    path("province/", include("provinces.urls")),
]
