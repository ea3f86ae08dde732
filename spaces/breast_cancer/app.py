"""Hugging Face Space: MedHive breast cancer (WDBC). The UI lives in `medhive.ui`; see README.md."""

from medhive.ui import build_space, launch_options

demo = build_space("breast_cancer")

if __name__ == "__main__":
    demo.launch(**launch_options())
