"""The least-privilege IAM policy of a team: its own prefix read-write, the registry readable."""

from __future__ import annotations

from typing import Any

from cpv_hooks.repo import validate_name


def team_policy(bucket: str, team: str) -> dict[str, Any]:
    """An IAM policy document for ``team`` on ``bucket``.

    Read-write on ``<bucket>/<team>/*`` (data, registry entries; delete only for the probe of
    ``cpv validate``), list on the bucket (``cpv registry list`` walks every team's
    prefix), and read of every team's registry entries, never of their data.
    """
    validate_name(team, "team name")
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
            {
                "Sid": "ReadWriteTeamPrefix",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": f"{arn}/{team}/*",
            },
            {
                "Sid": "DeleteValidateProbe",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": f"{arn}/{team}/*/cpv-validate-*",
            },
            {
                "Sid": "ReadTeamRegistry",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{arn}/*/*/cpv/versions/*", f"{arn}/*/*/cpv/stages/*"],
            },
        ],
    }
