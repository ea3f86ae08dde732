"""Hugging Face Space: the MedHive assistant. The UI lives in `medhive.mounts.assistant`; see README.md."""

from pathlib import Path

from medhive.mounts.assistant import build_space_app
from medhive.ui import launch_options

demo = build_space_app(knowledge_dir=Path(__file__).with_name("knowledge"))

if __name__ == "__main__":
    demo.launch(**launch_options())
