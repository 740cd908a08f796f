"""infra/template.yaml's campaign resources: wired the way the campaign flow expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from listguard.domain.deliverability import DeliverabilityPolicy
from listguard_console.localcloud.template import load_template, package, to_cloudformation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
#: The functions that read the deliverability policy.
POLICY_READERS = ("CampaignStepsFunction", "RequeueFunction")


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def cloudformation(sam_template: dict[str, Any]) -> dict[str, Any]:
    packaged = package(sam_template, ROOT, "artifacts", lambda key, body: None)
    return to_cloudformation(packaged, "us-east-1")


@pytest.mark.parametrize("function", POLICY_READERS)
def test_every_setting_of_the_deliverability_policy_is_a_stack_parameter(
    sam_template: dict[str, Any], function: str
) -> None:
    environment = sam_template["Resources"][function]["Properties"]["Environment"]["Variables"]
    for name, field in DeliverabilityPolicy.model_fields.items():
        parameter = sam_template["Parameters"][environment[f"LISTGUARD_{name.upper()}"]["Ref"]]
        assert float(parameter["Default"]) == float(field.default), name


def test_the_pause_thresholds_are_the_published_ones(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    assert parameters["HardBounceRateToPause"]["Default"] == 0.05
    assert parameters["ComplaintRateToPause"]["Default"] == 0.001


def test_ses_feedback_reaches_the_feedback_function_through_an_encrypted_topic(
    cloudformation: dict[str, Any],
) -> None:
    resources = cloudformation["Resources"]
    [subscription] = [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Properties"]["TopicArn"] == {"Ref": "FeedbackTopic"}
    assert subscription["Properties"]["Protocol"] == "lambda"
    assert subscription["Properties"]["Endpoint"] == {"Fn::GetAtt": ["FeedbackFunction", "Arn"]}
    # SES publishes there through the configuration set every campaign email uses
    destination = resources["CampaignEventDestination"]["Properties"]["EventDestination"]
    assert destination["SnsDestination"] == {"TopicARN": {"Ref": "FeedbackTopic"}}
    assert set(destination["MatchingEventTypes"]) == {"bounce", "complaint", "open", "click"}
    configuration_set = {"Fn::Sub": "${AWS::StackName}-campaigns"}
    assert resources["CampaignConfigurationSet"]["Properties"]["Name"] == configuration_set
    for function in POLICY_READERS:
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["CAMPAIGN_CONFIGURATION_SET"] == configuration_set
    # The topic is encrypted with a key SES may use
    assert resources["FeedbackTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "FeedbackTopicKey"}
    statements = resources["FeedbackTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "ses.amazonaws.com"} for s in statements)


def test_a_feedback_event_that_fails_every_attempt_is_kept(cloudformation: dict[str, Any]) -> None:
    [config] = [
        r
        for r in cloudformation["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": "FeedbackFunction"}
    ]
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["FeedbackFailuresQueue", "Arn"]}


def test_the_requeue_job_runs_on_an_eventbridge_schedule(cloudformation: dict[str, Any]) -> None:
    [rule] = [r for r in cloudformation["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["RequeueFunction", "Arn"]}


def test_campaign_emails_may_be_sent_only_through_the_campaigns_configuration_set(
    cloudformation: dict[str, Any],
) -> None:
    for role in ("CampaignStepsFunctionRole", "RequeueFunctionRole"):
        statements = [
            statement
            for policy in cloudformation["Resources"][role]["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
        ]
        [ses] = [s for s in statements if "ses:SendEmail" in s["Action"]]
        resources = [next(iter(r.values())) for r in ses["Resource"]]
        assert any(str(r).endswith(":configuration-set/${AWS::StackName}-campaigns") for r in resources), role


def test_the_console_finds_the_campaign_flow_in_the_outputs(cloudformation: dict[str, Any]) -> None:
    assert {
        "CampaignStateMachineArn",
        "FeedbackTopicArn",
        "RequeueFunctionName",
        "CampaignConfigurationSetName",
        "FeedbackFailuresQueueUrl",
    } <= set(cloudformation["Outputs"])
