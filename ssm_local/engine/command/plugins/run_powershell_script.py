"""``aws:runPowerShellScript``: the lines run as ``_script.ps1`` with ``pwsh`` where the node has it.

On a node without PowerShell 7 (``pwsh``) the step fails with a message saying so; nothing is
emulated. Inputs and exit codes are those of ``aws:runShellScript``.
"""

from __future__ import annotations

from ssm_local.engine.command.plugins.base import FAILED, PluginResult, StepContext
from ssm_local.engine.command.plugins.run_shell_script import run_script
from ssm_local.engine.executors.base import ProcessOutcome

PWSH = ("pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-File")


async def run_powershell_script(ctx: StepContext) -> PluginResult:
    result, plugin = await run_script(ctx, PWSH, "_script.ps1")
    missing = (
        result.outcome is ProcessOutcome.ERROR
        or (result.outcome is ProcessOutcome.EXITED and result.exit_code == 127
            and "pwsh" in result.stderr_text and "not found" in result.stderr_text)
    )
    if missing:
        return PluginResult(
            plugin.name, plugin.plugin, FAILED, "Failed", plugin.response_code,
            plugin.started_at, plugin.finished_at, plugin.stdout,
            f"pwsh was not found on node {ctx.node.node_id}: aws:runPowerShellScript needs "
            "PowerShell 7 (pwsh) on the node\n",
        )
    return plugin
