"""Hugging Face Space: MedHive diabetes (Pima). The UI lives in `medhive.ui`; see README.md."""

from medhive.ui import build_space, launch_options

demo = build_space("diabetes")

if __name__ == "__main__":
    demo.launch(**launch_options())
