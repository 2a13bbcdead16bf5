from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.statistics_page, name="statistics"),
    path("official/", views.official_page, name="official"),
    path("official/template.xlsx", views.official_template, name="official_template"),
]
