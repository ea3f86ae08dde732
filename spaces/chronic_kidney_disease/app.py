"""Hugging Face Space: MedHive chronic kidney disease. The UI lives in `medhive.ui`; see README.md."""

from medhive.ui import build_space, launch_options

demo = build_space("chronic_kidney_disease")

if __name__ == "__main__":
    demo.launch(**launch_options())
