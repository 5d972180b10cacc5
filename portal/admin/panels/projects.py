"""The project file panel of a demand's ticket page (一项目一档案): its stage and figures,
the forms that move it, its documents and its stalled flag."""

from portal.admin.ticket_page import panel
from portal.cases import projects
from portal.models import Demand


@panel
def project_file(record, user) -> dict:
    if not isinstance(record, Demand):
        return {"project": None, "project_offer": False}
    from portal.admin.projects import OpenForm, PoolForm, project_form

    project = record.project
    values = {
        "project": project,
        "project_offer": project is None and record.status not in ("submitted", "closed")
        and projects.may_manage(user),
        "project_manage": projects.may_manage(user),
        "project_stages": projects.STAGE_LABELS,
        "project_open_form": OpenForm(prefix="open", formdata=None),
        # The investor's files and those staff attached to public replies.
        "project_documents": {
            "submitted": [a for a in record.attachments if a.event_id is None],
            "replies": [a for a in record.attachments if a.event_id is not None],
        },
    }
    if project is not None:
        form = project_form(project, formdata=None)
        for name in projects.FIGURE_FIELDS + ("name",):
            getattr(form, name).data = getattr(project, name)
        pool_form = PoolForm(prefix="pool", formdata=None)
        pool_form.in_pool.data = not project.in_pool
        values.update(project_form=form, project_pool_form=pool_form,
                      project_stalled=projects.STALL_LABELS.get(projects.stalled(project)))
    return values
