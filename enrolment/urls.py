from django.urls import path

from enrolment import progression_views, views

urlpatterns = [
    path("pupils/new/", views.pupil_register, name="pupil_register"),
    path("registrations/", views.registration_list, name="registration_list"),
    path("registrations/<int:registration_id>/", views.registration_detail, name="registration_detail"),
    path("registrations/<int:registration_id>/<str:action>/", views.registration_act, name="registration_act"),
    path("progressions/", progression_views.progression_find, name="progression_find"),
    path("progressions/receive/", progression_views.progression_start, name="progression_start"),
    path("progressions/unreceived/", progression_views.progression_unreceived, name="progression_unreceived"),
    path("progressions/unreceived.xlsx", progression_views.progression_unreceived_export,
         name="progression_unreceived_export"),
    path("progressions/allocations/", progression_views.allocation_list, name="allocation_list"),
    path("progressions/allocations/template.xlsx", progression_views.allocation_template,
         name="allocation_template"),
    path("progressions/allocations/<int:allocation_id>/", progression_views.allocation_detail,
         name="allocation_detail"),
    path("progressions/<int:progression_id>/", progression_views.progression_detail, name="progression_detail"),
    path("progressions/<int:progression_id>/classes/", progression_views.progression_classes,
         name="progression_classes"),
    path("progressions/<int:progression_id>/entries/<int:entry_id>/remove/", progression_views.progression_remove,
         name="progression_remove"),
    path("progressions/<int:progression_id>/<str:action>/", progression_views.progression_act,
         name="progression_act"),
]
