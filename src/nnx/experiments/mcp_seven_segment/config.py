"""mcp_seven_segment's settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class McpConfig:
    nets: list[str] = dataclasses.field(default_factory=list)


SCHEMA = McpConfig
