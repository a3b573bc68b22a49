"""Amendment 2 (docs/preregistration.md): the primary pair trained again in fp32, at the study's budget
and at the extension's, so that the CPUs without bf16 kernels (AVX2 only) can train towards a
converged answer. A rule here rather than a params.yaml key, for the reason study/extension.py gives.
Imports nothing, so that the report and scripts/study_queue.sh read it cheaply."""

ARM_PRECISION = "fp32"
ARM_OVERRIDE = f"train.precision={ARM_PRECISION}"  # DVC's `-S`, as the queue runs it
