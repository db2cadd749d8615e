"""Nodes: ``action_node`` and the flow nodes, as one discriminated union on ``type``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from schemas.actions import (
    AssertionAction,
    AssertionKind,
    ExtractionAction,
    FailStateAction,
    HumanInLoopAction,
    MiscAction,
    SafeExpression,
    SleepAction,
)
from schemas.base import StrictModel, exactly_one
from schemas.interaction import InteractionAction, LocatorCommand

ACTION_KINDS = (
    "interaction_action", "human_in_loop_action", "sleep_action", "fail_state_action",
    "extraction_action", "misc_action", "assertion_action",
)  # fmt: skip

Seconds30 = Annotated[float, Field(ge=0, le=30)]


class ActionNode(StrictModel):
    """One action plus timing fields."""

    unsupported_keys: ClassVar[dict[str, str]] = {
        "python_script_action": "this runner never executes code from an automation file",
        "powershell_action": "this runner never executes code from an automation file",
        "captcha_action": "captcha solving needs Optexity's cloud; use a human_in_loop_action",
    }
    ignored_keys: ClassVar[frozenset[str]] = frozenset(
        {"max_new_tab_wait_time", "expect_navigation"}
    )

    type: Literal["action_node"] = "action_node"
    interaction_action: InteractionAction | None = None
    human_in_loop_action: HumanInLoopAction | None = None
    sleep_action: SleepAction | None = None
    fail_state_action: FailStateAction | None = None
    extraction_action: ExtractionAction | None = None
    misc_action: MiscAction | None = None
    assertion_action: AssertionAction | None = None
    before_sleep_time: Seconds30 = 0.0
    end_sleep_time: Seconds30 = 5.0
    expect_new_tab: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> ActionNode:
        exactly_one(self, ACTION_KINDS, "action_node")
        if self.expect_new_tab and self.interaction_action is None:
            raise ValueError("expect_new_tab is only allowed on an interaction_action")
        return self

    @property
    def kind(self) -> str:
        """The JSON key of the action that is set."""
        return next(k for k in ACTION_KINDS if getattr(self, k) is not None)

    @property
    def action(self) -> StrictModel:
        value: StrictModel = getattr(self, self.kind)
        return value


def _infer_node_types(nodes: Any) -> Any:
    """Optexity's older files omit ``type``: infer it as Optexity's own loader does."""
    if not isinstance(nodes, list):
        return nodes
    typed = []
    for node in nodes:
        if isinstance(node, dict) and "type" not in node:
            if "condition" in node:
                node = {"type": "if_else_node", **node}
            elif "variable_name" in node or ("locator" in node and "nodes" in node):
                node = {"type": "for_loop_node", **node}
            elif "assertion" in node:
                node = {"type": "assert_locator_node", **node}
            else:
                node = {"type": "action_node", **node}
        typed.append(node)
    return typed


class ForLoopNode(StrictModel):
    """Repeat ``nodes`` over a variable's values or over a locator's matches."""

    type: Literal["for_loop_node"]
    variable_name: str | None = None
    locator: LocatorCommand | None = None
    index_variable_name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "index"
    locator_timeout: Annotated[float, Field(ge=0, le=60)] = 5.0
    max_iterations: Annotated[int, Field(ge=0)] | None = None
    nodes: NodeList
    reset_nodes: NodeList = Field(default_factory=list)
    on_error_in_loop: Literal["raise", "continue", "break"] = "raise"

    @model_validator(mode="after")
    def _one_source(self) -> ForLoopNode:
        exactly_one(self, ("variable_name", "locator"), "for_loop_node")
        return self

    @property
    def loop_variables(self) -> list[str]:
        """The parallel variables of a variable loop (``"a, b"``); the first sets the length."""
        if self.variable_name is None:
            return []
        return [name.strip() for name in self.variable_name.split(",") if name.strip()]


class IfElseNode(StrictModel):
    """Run ``if_nodes`` when ``condition`` holds, else ``else_nodes``."""

    type: Literal["if_else_node"]
    condition: SafeExpression
    if_nodes: NodeList
    else_nodes: NodeList = Field(default_factory=list)


class AssertLocatorNode(StrictModel):
    """Store whether a locator is visible (or hidden); never fails the run."""

    type: Literal["assert_locator_node"]
    locator: LocatorCommand
    assertion: AssertionKind = "to_be_visible"
    timeout: Annotated[float, Field(ge=0, le=60)] = 5.0
    output_variable_name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None


Node = Annotated[
    ActionNode | ForLoopNode | IfElseNode | AssertLocatorNode, Field(discriminator="type")
]
NodeList = Annotated[list[Node], BeforeValidator(_infer_node_types)]

ForLoopNode.model_rebuild()
IfElseNode.model_rebuild()
