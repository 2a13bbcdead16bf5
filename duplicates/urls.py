from django.urls import path

from duplicates import views

app_name = "duplicates"
urlpatterns = [
    path("sweeps/", views.sweep_list, name="sweeps"),
    path("sweeps/start/", views.sweep_start, name="sweep_start"),
    path("sweeps/<int:sweep_id>/resume/", views.sweep_resume, name="sweep_resume"),
    path("sweeps/<int:sweep_id>/progress/", views.sweep_progress, name="sweep_progress"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("peer-holdings/<int:holding_id>/resolve/", views.peer_holding_resolve, name="peer_holding_resolve"),
    path("deletions/<int:request_id>/<str:action>/", views.deletion_act, name="deletion_act"),
]
