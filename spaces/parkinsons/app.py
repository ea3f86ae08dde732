"""Hugging Face Space: MedHive Parkinson's voice. The UI lives in `medhive.ui`; see README.md."""

from medhive.ui import build_space, launch_options

demo = build_space("parkinsons")

if __name__ == "__main__":
    demo.launch(**launch_options())
