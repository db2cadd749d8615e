"""Pydantic models of the Optexity automation format; the JSON Schema is generated from them."""

from schemas.actions import (
    AssertionAction,
    ExtractionAction,
    FailStateAction,
    HumanInLoopAction,
    MiscAction,
    SleepAction,
)
from schemas.automation import Automation
from schemas.interaction import InteractionAction
from schemas.nodes import ActionNode, AssertLocatorNode, ForLoopNode, IfElseNode, Node
from schemas.parameters import Parameters, SecureParameter

__all__ = [
    "ActionNode",
    "AssertLocatorNode",
    "AssertionAction",
    "Automation",
    "ExtractionAction",
    "FailStateAction",
    "ForLoopNode",
    "HumanInLoopAction",
    "IfElseNode",
    "InteractionAction",
    "MiscAction",
    "Node",
    "Parameters",
    "SecureParameter",
    "SleepAction",
]
