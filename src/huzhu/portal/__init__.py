"""会员服务: the members' own pages under ``/member/`` — sign in by phone and SMS code,
see their cover and claims, file a claim with photographs, keep their bank account, and
ask for a review (申请复核). A member session is not a staff session: neither opens the
other's pages."""
