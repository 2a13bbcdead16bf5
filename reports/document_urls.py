from django.urls import path

from reports import document_views as views

app_name = "documents"

urlpatterns = [
    path("issue/", views.document_issue, name="issue"),
    path("batch/", views.documents_batch, name="batch"),
    path("verify/<str:code>/", views.document_verify, name="verify"),
    path("<str:number>/", views.document_detail, name="detail"),
    path("<str:number>/pdf/", views.document_pdf, name="pdf"),
]
