"""Amendment 1 (docs/preregistration.md): the main models again at twice the study's budget, checked
against it as it was checked against half of it. A rule here rather than a params.yaml key: the
params schema is a dependency of every training stage, and editing it mid-study would retrain them all.
Imports nothing, so that the report and scripts/study_queue.sh read it cheaply."""

EXTENSION_FACTOR = 2


def extension_epochs(study_epochs: int) -> int:
    """The extension's budget for a study of `study_epochs` epochs."""
    return EXTENSION_FACTOR * study_epochs
