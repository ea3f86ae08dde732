"""Hugging Face Space: the MedHive assistant. The UI lives in `medhive.mounts.assistant`; see README.md."""

from pathlib import Path

from medhive.mounts.assistant import build_space_app, chat_launch_options

demo = build_space_app(knowledge_dir=Path(__file__).with_name("knowledge"))

if __name__ == "__main__":
    demo.launch(**chat_launch_options(demo))
