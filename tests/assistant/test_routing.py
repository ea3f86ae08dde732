"""Intent routing: an organisation asking to take part starts onboarding, even when phrased as a question."""

from __future__ import annotations

import pytest

from assistant.intents import route


@pytest.mark.parametrize("text", [
    "can we connect our hospital to the federation for the diabetes model?",
    "we want to take part in the glaucoma training. How do we sign up?",
    "Hi, I'm the research coordinator at a small eye clinic. We have ~2000 fundus photos and want to take part "
    "in the glaucoma training",
    "we'd be interested in joining the federated training with our radiology department",
    "can our clinic contribute to the pneumonia model?",
    "how do we join the federation as a hospital?",
])
def test_a_request_to_take_part_starts_onboarding(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "got our enrollment token from the admin, what's the exact command to enrol the node and start it",
    "we have the token, which command enrols our node?",
    "what legal basis do we need under GDPR to take part",
    "how do I check our files are ok before joining",
    "our node is not joining the training rounds",
    "how do I approve a hospital's request to join",
    "I have one patient with bloods, BP and age. Can I run every model at once instead of filling 5 forms?",
    "run all the models together on one case",
])
def test_questions_about_a_later_step_or_a_problem_go_to_the_documentation(text):
    assert route(text) == "question"
