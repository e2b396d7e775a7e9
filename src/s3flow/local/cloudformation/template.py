"""The template half of the local CloudFormation engine: resolve intrinsics, order resources.

No AWS calls: :class:`Resolver` evaluates a template fragment against the resources created
so far, :func:`creation_order` says in which order to create them, and :func:`physical_name`
names a resource the template leaves unnamed, as CloudFormation does.

Template features supported:

- Intrinsics: ``Ref``, ``Fn::GetAtt`` (list and ``"Id.Attr"`` forms), ``Fn::Join``,
  ``Fn::Sub`` (string and ``[string, variables]`` forms, ``${!Literal}``), ``Fn::Select``,
  ``Fn::Split``, ``Fn::GetAZs`` (``<region>a``..``c``), ``Fn::FindInMap``, ``Fn::Base64``,
  ``Fn::If`` and the condition functions ``Fn::Equals``/``Fn::And``/``Fn::Or``/``Fn::Not``.
- Pseudo parameters: ``AWS::AccountId`` (the emulator's account as STS reports it: moto's
  default is 123456789012),
  ``AWS::Region``, ``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::StackName``,
  ``AWS::StackId`` (the id moto's CloudFormation gives the registered stack, see
  :mod:`s3flow.local.cloudformation.stack`),
  ``AWS::NoValue`` (removes the property or list item), ``AWS::NotificationARNs``.
- ``Parameters`` take their defaults (or ``parameters=`` overrides). CDK's ``BootstrapVersion``
  parameter is an SSM lookup of the bootstrap stack's version and the ``Rules`` section only
  asserts that version; neither means anything without a bootstrapped account, so both are
  ignored locally. Referencing an SSM-typed parameter is an error.
- ``Conditions`` on resources and outputs; ``DependsOn``. Creation order is a topological
  order of ``Ref``/``Fn::GetAtt``/``Fn::Sub``/``DependsOn`` edges (template order breaks ties).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from s3flow.local.cloudformation.errors import TemplateError

MOTO_ACCOUNT_ID = "123456789012"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not")


@dataclass
class Resolver:
    """Evaluates intrinsic functions against resources created so far. No AWS calls."""

    template: Mapping[str, Any]
    stack_name: str
    region: str
    account: str = MOTO_ACCOUNT_ID
    stack_id: str = ""
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> GetAtt
    _conditions: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }

    def set_stack_id(self, stack_id: str) -> None:
        self.stack_id = self.pseudo["AWS::StackId"] = stack_id

    # ------------------------------------------------------------ parameters, conditions

    def parameter(self, name: str) -> Any:
        spec = self.template.get("Parameters", {})[name]
        if name in self.parameter_overrides:
            value: Any = self.parameter_overrides[name]
        elif str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::"):
            raise TemplateError(f"parameter {name} is an SSM lookup, which has no local value")
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default; pass it in parameters")
        kind = str(spec.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [item.strip() for item in str(value).split(",")] if isinstance(value, str) else value
        return str(value)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def _condition_value(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self._condition_value(item) for item in arg)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self._condition_value(item) for item in arg)
            if key == "Fn::Or":
                return any(self._condition_value(item) for item in arg)
            if key == "Fn::Not":
                return not self._condition_value(arg[0])
        return self.resolve(value)

    # ------------------------------------------------------------ intrinsics

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in ``value``; ``AWS::NoValue`` drops keys and items."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key, arg)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::GetAZs": self._get_azs,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda a: base64.b64encode(self._string(a).encode()).decode(),
            "Fn::If": self._if,
        }
        if key in handlers:
            return handlers[key](arg)
        if key in _CONDITION_FUNCTIONS:
            return self._condition_value({key: arg})
        raise TemplateError(f"intrinsic function {key} is not supported locally")

    def _ref(self, name: Any) -> Any:
        name = self.resolve(name)
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        if name in self.template.get("Resources", {}):
            raise TemplateError(f"Ref to {name}, which is not created (yet, or by its condition)")
        raise TemplateError(f"Ref to unknown name {name}")

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        attribute = self.resolve(attribute)
        if logical_id not in self.attributes:
            if logical_id in self.template.get("Resources", {}):
                raise TemplateError(f"Fn::GetAtt of {logical_id}, which is not created (yet)")
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical_id}")
        attributes = self.attributes[logical_id]
        if attribute not in attributes:
            raise TemplateError(f"{logical_id} has no attribute {attribute} locally")
        return attributes[attribute]

    def _join(self, arg: Any) -> str:
        delimiter, items = arg
        return self._string(delimiter).join(self._string(item) for item in self._list(items))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        values = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return self._string(values[name])
            if "." in name and name not in self.pseudo:
                return self._string(self._get_att(name))
            return self._string(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _select(self, arg: Any) -> Any:
        index, items = arg
        items = self._list(items)
        position = int(self.resolve(index))
        if not 0 <= position < len(items):
            raise TemplateError(f"Fn::Select index {position} out of range for {len(items)} items")
        return items[position]

    def _split(self, arg: Any) -> list[str]:
        delimiter, text = arg
        return self._string(text).split(self._string(delimiter))

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def _find_in_map(self, arg: Any) -> Any:
        map_name, top, second = (self.resolve(item) for item in arg)
        try:
            return self.template["Mappings"][map_name][top][second]
        except KeyError as error:
            raise TemplateError(f"Fn::FindInMap: no {map_name}/{top}/{second}") from error

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _list(self, value: Any) -> list[Any]:
        resolved = self.resolve(value)
        if not isinstance(resolved, list):
            raise TemplateError(f"expected a list, got {resolved!r}")
        return resolved

    def _string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (str, int, float)):
            return str(resolved)
        raise TemplateError(f"expected a string, got {resolved!r}")


def references(value: Any) -> set[str]:
    """Logical names a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                own = set(variables) if isinstance(variables, dict) else set()
                for name in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    if not name.startswith("!") and name not in own:
                        found.add(name.split(".", 1)[0] if "." in name else name)
                found |= references(variables)
            else:
                found |= references(arg)
    return found


def creation_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids so that each comes after what it references; template order breaks ties."""
    depends: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        explicit = resource.get("DependsOn", [])
        explicit = [explicit] if isinstance(explicit, str) else list(explicit)
        for name in explicit:
            if name not in resources:
                raise TemplateError(f"{logical_id} DependsOn unknown resource {name}")
        depends[logical_id] = (references(resource) | set(explicit)) & set(resources) - {logical_id}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(resources):
        ready = [lid for lid in resources if lid not in placed and depends[lid] <= placed]
        if not ready:
            cycle = sorted(lid for lid in resources if lid not in placed)
            raise TemplateError(f"circular dependency among {', '.join(cycle)}")
        order.append(ready[0])
        placed.add(ready[0])
    return order


def physical_name(stack_name: str, logical_id: str, *, max_length: int, lower: bool = False) -> str:
    """A CloudFormation-style generated name, ``{stack}-{logicalId}-{SUFFIX}``, deterministic."""
    suffix = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    room = max_length - len(suffix) - 2
    stack_part = stack_name[: max(room // 2, room - len(logical_id))]
    name = f"{stack_part}-{logical_id[: room - len(stack_part)]}-{suffix}"
    return name.lower() if lower else name
