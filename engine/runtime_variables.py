"""Variable scopes of the runtime: reads for FEEL, local and propagating writes, I/O mappings."""

from __future__ import annotations

import json
from typing import Any

from .bpmn_model import FlowNode, Mapping
from .changes import VARIABLES
from .feel import MISSING, Expression, FeelEvalError, type_name
from .records import ElementInstance, ErrorType, Variable
from .runtime_state import RuntimeState, StepFailure
from .variables import encode_value, json_value, render_document, with_path


class ScopeContext:
    """FEEL variable lookup from one scope outward (inner scopes shadow outer ones)."""

    __slots__ = ("_state", "_scope")

    def __init__(self, state: RuntimeState, scope_key: int) -> None:
        self._state = state
        self._scope = scope_key

    def lookup(self, name: str) -> Any:
        variables = self._state.variables
        element_instances = self._state.element_instances
        scope: int | None = self._scope
        while scope is not None:
            local = variables.get(scope)
            if local is not None:
                var = local.get(name)
                if var is not None:
                    return json.loads(var.value)
            ei = element_instances.get(scope)
            scope = ei.flow_scope_key if ei is not None else None
        return MISSING


class VariablesMixin(RuntimeState):
    """Scoped variable storage and the FEEL evaluation that reads it."""

    def _parent_scope(self, scope_key: int) -> int | None:
        ei = self.element_instances.get(scope_key)
        return ei.flow_scope_key if ei is not None else None

    def visible_variables(self, scope_key: int, names: list[str] | None = None) -> str:
        """JSON object of the variables seen from ``scope_key`` (inner scopes shadow outer)."""
        found: dict[str, str] = {}
        scope: int | None = scope_key
        while scope is not None:
            local = self.variables.get(scope)
            if local:
                if names is None:
                    for name, var in local.items():
                        if name not in found:
                            found[name] = var.value
                else:
                    for name in names:
                        if name not in found and name in local:
                            found[name] = local[name].value
            scope = self._parent_scope(scope)
        return render_document(found)

    def local_variables(self, scope_key: int) -> dict[str, str]:
        """Name -> JSON text of the variables held by exactly this scope."""
        return {name: var.value for name, var in self.variables.get(scope_key, {}).items()}

    def _set_variable(self, pi_key: int, scope_key: int, name: str, value: str) -> None:
        local = self.variables.get(scope_key)
        if local is None:
            local = self.variables[scope_key] = {}
        var = local.get(name)
        if var is None:
            var = local[name] = Variable(self.keys.next_key(), scope_key, pi_key, name, value)
        elif var.value == value:
            return
        else:
            var.value = value
        self.changes.upsert(VARIABLES, (scope_key, name), var)

    def _set_variable_propagating(self, pi_key: int, scope_key: int, name: str, value: str) -> None:
        scope: int | None = scope_key
        while scope is not None:
            local = self.variables.get(scope)
            if local is not None and name in local:
                self._set_variable(pi_key, scope, name, value)
                return
            scope = self._parent_scope(scope)
        self._set_variable(pi_key, pi_key, name, value)

    def _drop_scope_variables(self, scope_key: int) -> None:
        local = self.variables.pop(scope_key, None)
        if local:
            for name, var in local.items():
                self.changes.delete(VARIABLES, (scope_key, name), var)

    def _write_result(self, pi_key: int, ei: ElementInstance, node: FlowNode,
                      variables: dict[str, Any]) -> None:
        """A job's or message's variables: local when output mappings pick from them."""
        if node.outputs:
            for name, value in variables.items():
                self._set_variable(pi_key, ei.key, name, encode_value(value))
        else:
            for name, value in variables.items():
                self._set_variable_propagating(pi_key, ei.key, name, encode_value(value))

    # ------------------------------------------------------------------ FEEL

    def _context(self, scope_key: int) -> ScopeContext:
        return ScopeContext(self, scope_key)

    def _evaluate(self, expression: Expression, scope_key: int, error_type: ErrorType) -> Any:
        try:
            return expression.evaluate(ScopeContext(self, scope_key))
        except FeelEvalError as exc:
            raise StepFailure(
                error_type, f"Failed to evaluate expression '{expression.source}': {exc}"
            ) from None

    def _mapping_value(self, mapping: Mapping, scope_key: int) -> Any:
        source = mapping.source
        if source is None:
            return None
        if source.expression is None:
            return source.static
        return json_value(self._evaluate(source.expression, scope_key, ErrorType.IO_MAPPING_ERROR))

    def _apply_inputs(self, pi_key: int, ei: ElementInstance, node: FlowNode) -> None:
        """Input mappings create local variables of the element, in document order."""
        for mapping in node.inputs:
            value = self._mapping_value(mapping, ei.key)
            root, rest = mapping.target[0], mapping.target[1:]
            if rest:
                local = self.variables.get(ei.key, {}).get(root)
                base = json.loads(local.value) if local is not None else None
                value = with_path(base if isinstance(base, dict) else None, rest, value)
            self._set_variable(pi_key, ei.key, root, encode_value(value))

    def _apply_outputs(self, pi_key: int, ei: ElementInstance, node: FlowNode) -> None:
        """Output mappings: evaluate all, then propagate only their targets from the parent."""
        parent = ei.flow_scope_key
        pending: dict[str, Any] = {}
        for mapping in node.outputs:
            value = self._mapping_value(mapping, ei.key)
            root, rest = mapping.target[0], mapping.target[1:]
            if rest:
                base = pending.get(root, MISSING)
                if base is MISSING:
                    base = ScopeContext(self, parent).lookup(root)
                base = None if base is MISSING else base
                updated = with_path(base, rest, value)
                if updated is None:
                    raise StepFailure(
                        ErrorType.IO_MAPPING_ERROR,
                        f"Expected to set the output mapping target '{mapping.target_text}', "
                        f"but '{root}' (or a value on the way) is '{type_name(base)}', not a "
                        "context",
                    )
                value = updated
            pending[root] = value
        for name, value in pending.items():
            self._set_variable_propagating(pi_key, parent, name, encode_value(value))
