from django.urls import path

from changes import views

app_name = "changes"
urlpatterns = [
    path("", views.change_list, name="list"),
    path("new/", views.change_new, name="new"),
    path("<int:request_id>/", views.change_detail, name="detail"),
    path("<int:request_id>/submit/", views.change_submit, name="submit"),
    path("<int:request_id>/approve/", views.change_approve, name="approve"),
    path("<int:request_id>/refuse/", views.change_refuse, name="refuse"),
    path("<int:request_id>/withdraw/", views.change_withdraw, name="withdraw"),
    path("<int:request_id>/send-back/", views.change_send_back, name="send_back"),
    path("<int:request_id>/correct/", views.change_correct, name="correct"),
    path("<int:request_id>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("evidence/<int:evidence_id>/", views.evidence_download, name="evidence"),
    path("dropouts/", views.dropouts, name="dropouts"),
    path("suspensions-overdue/", views.suspensions_overdue, name="suspensions_overdue"),
    path("graduations/", views.graduation_list, name="graduations"),
    path("graduations/<int:graduation_id>/", views.graduation_detail, name="graduation_detail"),
    path("graduations/<int:graduation_id>/approve/", views.graduation_approve, name="graduation_approve"),
    path("graduations/<int:graduation_id>/refuse/", views.graduation_refuse, name="graduation_refuse"),
    path("graduations/<int:graduation_id>/withdraw/", views.graduation_withdraw, name="graduation_withdraw"),
    path("left-behind/", views.left_behind_list, name="left_behind"),
    path("left-behind/<int:campaign_id>/", views.left_behind_detail, name="left_behind_detail"),
    path("left-behind/<int:campaign_id>/confirm/", views.left_behind_confirm, name="left_behind_confirm"),
    path("promotion/", views.promotion, name="promotion"),
    path("promotion/<int:run_id>/progress.json", views.promotion_progress, name="promotion_progress"),
]
