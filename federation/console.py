"""The hospital console: a small Gradio app on the hospital's own machine (bound to 127.0.0.1).

It shows what the node would do with a data folder (validation result and statistics), manages consent,
shows whether the node is enrolled, and follows training: contributions per round and privacy budget spent,
read from the node's state folder and refreshed on a timer while a federation runs. The
functions below are plain (testable without Gradio); `build_console` only wires them to components.
Nothing here talks to the SuperLink.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from federation.node_state import NodeState


def validation_text(task_name: str, path: str, min_rows: int = 200) -> str:
    from federation.config import load_task
    from federation.data import validate

    if not path or not Path(path).expanduser().exists():
        return "Choose an existing file or folder."
    report = validate(load_task(task_name), Path(path).expanduser(), min_rows=int(min_rows))
    if not report.ok:
        return "**Refused** - fix these before joining:\n\n" + "\n".join(f"- `{line}`" for line in report.lines())
    s = report.summary
    lines = [f"**Accepted** for {task_name}: {s.get('rows', 0)} rows",
             "Classes: " + ", ".join(f"{k} {v}" for k, v in s.get("class_counts", {}).items())]
    for name, st in list(s.get("features", {}).items())[:30]:
        lines.append(f"- {name}: min {st['min']:.4g}, mean {st['mean']:.4g}, max {st['max']:.4g}")
    return "\n\n".join(lines[:2]) + ("\n\n" + "\n".join(lines[2:]) if len(lines) > 2 else "")


def consent_rows(state: NodeState) -> list[list[Any]]:
    return [[r.task, r.scope, r.granted_at, r.granted_by, r.revoked_at or "active"] for r in state.consents()]


def contribution_rows(state: NodeState) -> list[list[Any]]:
    return [[c["time"], c["task"], c["run"], c["round"], c["samples"],
             "-" if c["epsilon_round"] is None else round(c["epsilon_round"], 3)] for c in state.contributions()]


def budget_text(state: NodeState, delta: float = 1e-5) -> str:
    tasks = sorted({c["task"] for c in state.contributions()} | {h["task"] for h in state.history()})
    if not tasks:
        return "No contributions yet."
    return "\n".join(f"- **{t}**: epsilon spent {state.spent_epsilon(t, delta):.3f} (delta {delta:g})" for t in tasks)


def enrollment_text(state: NodeState) -> str:
    enrolled = state.enrollment()
    if not enrolled:
        return ("Not enrolled: this node can train, but no organization is credited for the versions it helps "
                "publish. Enroll once with `medhive node enroll --hub URL --token TOKEN`.")
    return (f"Enrolled as **{enrolled['name']}** for organization `{enrolled['org_id']}` at {enrolled['hub']} "
            f"(since {enrolled['enrolled_at']}).")


def build_console(state_dir: Path, *, tasks: list[str], default_task: str | None = None, refresh_seconds: float = 5.0):
    import gradio as gr

    state = NodeState(state_dir)
    with gr.Blocks(title="MedHive hospital console") as demo:
        gr.Markdown(f"# MedHive hospital console\nNode `{state.pseudonym()}` - state in `{state.folder}`. "
                    "Runs on this machine only; no patient data leaves it.")
        gr.Markdown(enrollment_text(state))
        with gr.Tab("Data"):
            task = gr.Dropdown(tasks, value=default_task or tasks[0], label="Task")
            path = gr.Textbox(label="Data file or folder (CSV, image folders, WFDB records)")
            min_rows = gr.Number(200, label="Minimum rows", precision=0)
            check = gr.Button("Validate")
            result = gr.Markdown()
            check.click(validation_text, [task, path, min_rows], result)
        with gr.Tab("Consent"):
            table = gr.Dataframe(consent_rows(state), headers=["task", "scope", "granted", "by", "status"])
            c_task = gr.Dropdown(tasks, value=default_task or tasks[0], label="Task")
            scope = gr.Radio(["training", "evaluation"], value="training", label="Scope")
            by = gr.Textbox(label="Recorded by")
            grant, revoke = gr.Button("Grant"), gr.Button("Revoke")

            def _grant(t: str, s: str, b: str) -> list[list[Any]]:
                state.grant(t, scope=s, by=b)
                return consent_rows(state)

            def _revoke(t: str, s: str) -> list[list[Any]]:
                state.revoke(t, scope=s)
                return consent_rows(state)

            grant.click(_grant, [c_task, scope, by], table)
            revoke.click(_revoke, [c_task, scope], table)
        with gr.Tab("Training and privacy"):
            gr.Markdown(f"Rounds this node trained in, newest last (refreshed every {refresh_seconds:g} s while "
                        "a federation runs), and the privacy budget spent per task.")
            budget = gr.Markdown(budget_text(state))
            history = gr.Dataframe(contribution_rows(state),
                                   headers=["time", "task", "run", "round", "samples", "epsilon"])
            refresh = gr.Button("Refresh")

            def _progress() -> tuple[str, list[list[Any]]]:
                return budget_text(state), contribution_rows(state)

            refresh.click(_progress, None, [budget, history])
            gr.Timer(refresh_seconds).tick(_progress, None, [budget, history])
    return demo
