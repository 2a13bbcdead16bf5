from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.statistics_page, name="statistics"),
    path("export/", views.statistics_export, name="statistics_export"),
    path("official/", views.official_page, name="official"),
    path("official/export/", views.official_export, name="official_export"),
    path("official/template.xlsx", views.official_template, name="official_template"),
]
