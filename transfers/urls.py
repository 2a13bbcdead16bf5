from django.urls import path

from transfers import views

app_name = "transfers"
urlpatterns = [
    path("", views.transfer_list, name="list"),
    path("new/", views.transfer_new, name="new"),
    path("new/lookup/", views.transfer_lookup, name="lookup"),
    path("<int:pk>/", views.transfer_detail, name="detail"),
    path("<int:pk>/submit/", views.transfer_submit, name="submit"),
    path("<int:pk>/approve/", views.transfer_approve, name="approve"),
    path("<int:pk>/refuse/", views.transfer_refuse, name="refuse"),
    path("<int:pk>/cancel/", views.transfer_cancel, name="cancel"),
    path("<int:pk>/send-back/", views.transfer_send_back, name="send_back"),
    path("<int:pk>/resubmit/", views.transfer_resubmit, name="resubmit"),
    path("<int:pk>/correct/", views.transfer_correct, name="correct"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:pk>/snapshot/", views.snapshot, name="snapshot"),
    path("remote/closed/", views.remote_closed, name="remote_closed"),
    path("remote/<int:pk>/", views.remote_detail, name="remote_detail"),
    path("remote/<int:pk>/<str:action>/", views.remote_act, name="remote_act"),
]
