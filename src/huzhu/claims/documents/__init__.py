"""The documents a union office prints and files (PDF, in the style of the premium
notice): for one claim 理赔申请表 (signed by the member), 理赔审批表 (the filer's and the
reviewers' names and dates, the amounts and the 计算过程) and 给付通知书 (to the member
once paid); for a payout batch 付款审批单 (signed by 经办, 审核 and 负责人). The builders
are :mod:`.pdfs`; :mod:`.views` serves them to those who may see the object, each
download on the audit log."""
