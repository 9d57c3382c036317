"""The one command-line entry point: ``huzhu <command>``.

Each command lives in the module of the domain it belongs to and exposes
``configure(parser)`` and ``run(args) -> int``; this file only routes, so that
``huzhu calc`` never pays for importing Django and ``huzhu demo`` never pays for Ibis.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("huzhu.demo.command", "生成演示数据（迁移数据库、创建演示城市与账号）"),
    "serve": ("huzhu.config.serve", "启动网页服务与后台任务进程"),
    "import": ("huzhu.imports.commands", "从 xlsx/csv 导入单位或会员"),
    "notify": ("huzhu.notify.commands", "发送待发短信（通知发件箱）"),
    "feed": ("huzhu.feeds.commands", "医保结算数据（免申即享）"),
    "calc": ("huzhu.rules.commands.calc", "按政策文件批量计算给付金额"),
    "policy": ("huzhu.rules.commands.policy", "检查并汇总政策文件"),
    "simulate": ("huzhu.rules.commands.simulate", "改革测算：现行政策与改革方案的给付对比"),
    "ledger": ("huzhu.coverage.ledger_command", "核对互助金账（huzhu ledger check）"),
    "audit": ("huzhu.claims.audit_command",
              "核查给付与审计日志（huzhu audit money：按政策重算已给付理赔；"
              "huzhu audit verify：核验审计日志哈希链；huzhu audit anchor：打印链头）"),
    "proactive": ("huzhu.feeds.proactive.cli",
                  "免申即享抽样复核、批量核准与应享未享清单"
                  "（huzhu proactive sample|approve|gaps）"),
    "payouts": ("huzhu.claims.payouts_command",
                "给付批次、银行代发文件与银行回盘核对（huzhu payouts build|file|reconcile）"),
    "keys": ("huzhu.lib.keys_command", "轮换加密密钥（huzhu keys rotate）"),
    "backup": ("huzhu.config.backup", "备份数据库与上传文件（不含密钥）"),
    "restore": ("huzhu.config.backup", "从备份恢复数据库与上传文件"),
    "export": ("huzhu.coverage.export_command", "导出引擎输入（huzhu export engine）"),
    "stats": ("huzhu.reports.stats_command", "统计数字：给付金额、人次、人数、分项目"),
    "synth": ("huzhu.rules.commands.synth", "生成确定性的合成会员与事件数据（Parquet）"),
    "manage": ("huzhu.config.manage", "运行 Django 管理命令（migrate、createsuperuser …）"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``only``, the other commands are listed but
    their modules not imported (``huzhu calc`` starts without rich or the feeds code)."""
    parser = argparse.ArgumentParser(prog="huzhu", description="职工互助保障系统")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_path, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module = importlib.import_module(module_path)
            module.configure(sub_parser)
            sub_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] == "manage":
            # Django parses its own arguments; hand them over untouched.
            from huzhu.config.manage import run_django

            return run_django(argv[1:])
        args = build_parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
        return int(args._module.run(args) or 0)
    except Exception as exc:
        # A configuration mistake, not a bug: the message says what to do. The keys
        # module (it imports Django) is looked up, not imported: a command that never
        # loaded it, like ``huzhu calc``, cannot have raised its error.
        keys = sys.modules.get("huzhu.config.secrets")
        if keys is None or not isinstance(exc, keys.KeysError):
            raise
        print(f"huzhu：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
