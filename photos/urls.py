from django.urls import path

from photos import views as photo_views

app_name = "photos"
urlpatterns = [
    path("photos/", photo_views.photo_upload, name="photo_upload"),
    path("photos/imports/<int:job_id>/", photo_views.photo_import, name="photo_import"),
    path("photos/imports/<int:job_id>/entries/<int:entry_id>/normalize/", photo_views.photo_entry_normalize,
         name="photo_entry_normalize"),
    path("photos/pupils/<str:national_number>/", photo_views.pupil_photo, name="pupil_photo"),
    path("photos/pupils/<str:national_number>/upload/", photo_views.pupil_photo_upload, name="pupil_photo_upload"),
    path("photos/pupils/<str:national_number>/normalized/", photo_views.pupil_photo_normalized,
         name="pupil_photo_normalized"),
]
