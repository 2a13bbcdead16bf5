from django.contrib import admin

from accounts.scope import restrict
from workflow.models import WorkItem


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "school", "division", "due_on", "state")
    list_filter = ("state", "kind")

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user)
