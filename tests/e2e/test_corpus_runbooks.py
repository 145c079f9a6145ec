"""AWS-owned runbooks from the shared corpus, run unmodified to Success against moto's AWS.

Each case creates in moto's server what the runbook expects (instances, images, stacks,
buckets, queues, an Auto Scaling group, alarms...), starts the runbook through the Automation
service with ``aws_endpoint_url`` pointing at moto (the actions' boto3 clients, the scripts'
boto3 and child executions all go there), sends the signals a person would send (Approve,
Resume), runs it on a fake clock (aws:sleep and polling take no real time) and checks the
outputs and what the runbook did to moto's resources. docs/automation-corpus.md lists these
runbooks and what blocks the other AWS-owned ones.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from ssm_local import documents
from ssm_local.engine import Engine
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from tests.conftest import corpus_dir

REGION = "us-east-1"
ACCOUNT = "123456789012"
AWSLABS = "awslabs__aws-systems-manager"
PUBLIC = "ceshihao__ssm-public-documents"


class Aws:
    """moto's server: boto3 clients pointed at it, and a reset between runbooks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, endpoint_url=self.url,
                                                  region_name=REGION)
        return self._clients[service]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    # -- resources the runbooks expect ------------------------------------------------------

    def instance(self, subnet: str | None = None) -> str:
        extra = {"SubnetId": subnet} if subnet else {}
        reservation = self("ec2").run_instances(ImageId=self.ami(), MinCount=1, MaxCount=1,
                                                InstanceType="t3.micro", **extra)
        return str(reservation["Instances"][0]["InstanceId"])

    def ami(self) -> str:
        images = self("ec2").describe_images(Owners=["amazon"],
                                             Filters=[{"Name": "name", "Values": ["amzn*"]}])
        return str(images["Images"][0]["ImageId"])

    def state(self, instance_id: str) -> str:
        reservations = self("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        return str(reservations[0]["Instances"][0]["State"]["Name"])

    def stack(self, name: str) -> str:
        template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
        return str(self("cloudformation").create_stack(
            StackName=name, TemplateBody=json.dumps(template))["StackId"])

    def stack_status(self, stack_id: str) -> str:
        return str(self("cloudformation").describe_stacks(
            StackName=stack_id)["Stacks"][0]["StackStatus"])

    def approval_topic(self) -> tuple[str, str]:
        """The SNS topic and the IAM user the approval runbooks ask for."""
        topic = self("sns").create_topic(Name="Automation-Approvals")["TopicArn"]
        user = self("iam").create_user(UserName="approver")["User"]["Arn"]
        return str(topic), str(user)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    moto = Aws(moto_url)
    moto.reset()
    return moto


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AutomationService]:
    engine = Engine(None, home=tmp_path)
    yield AutomationService(engine.store, region=REGION, account_id=ACCOUNT, clock=FakeClock(),
                            commands=engine, automations=engine.automations)
    engine.close()


# -- the cases ------------------------------------------------------------------------------


@dataclass
class Run:
    """How to run one runbook: its parameters, the signals a person sends, and what to check
    afterwards (``check(execution)``)."""

    parameters: dict[str, Any]
    check: Callable[[dict[str, Any]], None]
    signals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


APPROVE = [("Approve", {"Approver": "approver", "Comment": "go ahead"})]
CASES: dict[str, tuple[str, Callable[[Aws], Run]]] = {}


def case(name: str, path: str) -> Callable[[Callable[[Aws], Run]], Callable[[Aws], Run]]:
    def register(setup: Callable[[Aws], Run]) -> Callable[[Aws], Run]:
        CASES[name] = (path, setup)
        return setup

    return register


def outputs(execution: dict[str, Any], step: str) -> dict[str, list[str]]:
    [record] = [s for s in execution["StepExecutions"] if s["StepName"] == step]
    found: dict[str, list[str]] = record.get("Outputs", {})
    return found


def ran(execution: dict[str, Any]) -> list[str]:
    return [s["StepName"] for s in execution["StepExecutions"]]


@case("StartEC2Instance", f"{AWSLABS}/aws-StartEC2Instance.json")
def _start(aws: Aws) -> Run:
    instance = aws.instance()
    aws("ec2").stop_instances(InstanceIds=[instance])
    return Run({"InstanceId": [instance]}, lambda _: _expect(aws.state(instance), "running"))


@case("StopEC2Instance", f"{AWSLABS}/aws-StopEC2Instance.json")
def _stop(aws: Aws) -> Run:
    instance = aws.instance()

    def check(execution: dict[str, Any]) -> None:
        assert ran(execution) == ["stopInstances", "forceStopInstances"]
        assert aws.state(instance) == "stopped"

    return Run({"InstanceId": [instance]}, check)


@case("RestartEC2Instance", f"{AWSLABS}/aws-RestartEC2Instance.json")
def _restart(aws: Aws) -> Run:
    instance = aws.instance()

    def check(execution: dict[str, Any]) -> None:
        assert ran(execution) == ["stopInstances", "startInstances"]
        assert aws.state(instance) == "running"

    return Run({"InstanceId": [instance]}, check)


@case("TerminateEC2Instance", f"{AWSLABS}/aws-TerminateEC2Instance.json")
def _terminate(aws: Aws) -> Run:
    instances = [aws.instance(), aws.instance()]

    def check(execution: dict[str, Any]) -> None:
        assert [aws.state(i) for i in instances] == ["terminated", "terminated"]

    return Run({"InstanceId": instances}, check)


@case("CreateImage", f"{AWSLABS}/aws-CreateImage.json")
def _create_image(aws: Aws) -> Run:
    instance = aws.instance()

    def check(execution: dict[str, Any]) -> None:
        made = outputs(execution, "createImage")
        [image_id] = made["createImage.ImageId"]
        assert made["createImage.ImageState"] == ["available"]
        [image] = aws("ec2").describe_images(ImageIds=[image_id])["Images"]
        assert image["Name"] == f"{instance}_{execution['AutomationExecutionId']}"

    return Run({"InstanceId": instance}, check)


@case("DeleteImage", f"{AWSLABS}/aws-DeleteImage.json")
def _delete_image(aws: Aws) -> Run:
    image = aws("ec2").create_image(InstanceId=aws.instance(), Name="to-delete")["ImageId"]
    snapshots = [m["Ebs"]["SnapshotId"] for m in aws("ec2").describe_images(
        ImageIds=[image])["Images"][0]["BlockDeviceMappings"] if "Ebs" in m]

    def check(execution: dict[str, Any]) -> None:
        assert aws("ec2").describe_images(Owners=["self"])["Images"] == []
        left = aws("ec2").describe_snapshots(OwnerIds=["self"])["Snapshots"]
        assert not {s["SnapshotId"] for s in left} & set(snapshots)

    return Run({"ImageId": image}, check)


@case("DeleteCloudFormation", f"{AWSLABS}/aws-DeleteCloudFormation.json")
def _delete_stack(aws: Aws) -> Run:
    stack = aws.stack("doomed")
    return Run({"StackNameOrId": "doomed"},
               lambda _: _expect(aws.stack_status(stack), "DELETE_COMPLETE"))


def _expect(value: Any, wanted: Any) -> None:
    assert value == wanted


@case("HelloWorld", f"{PUBLIC}/AWS-HelloWorld.json")
def _hello(aws: Aws) -> Run:
    return Run({}, lambda execution: _expect(
        outputs(execution, "HelloWorldScriptExecution"),
        {"HelloWorldScriptExecution.Payload": ["null"]}))


def _bucket_keys(aws: Aws, kms: bool) -> Run:
    aws("s3").create_bucket(Bucket="bucket-keys-test")
    key = aws("kms").create_key()["KeyMetadata"]["KeyId"] if kms else ""

    def check(execution: dict[str, Any]) -> None:
        chosen = "PutBucketKeysKMS" if kms else "PutBucketKeysAES256"
        assert ran(execution) == ["ChooseEncryptionType", chosen, "VerifyS3BucketKeysEnabled"]
        [rule] = aws("s3").get_bucket_encryption(Bucket="bucket-keys-test")[
            "ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["BucketKeyEnabled"] is True
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == ("aws:kms" if kms else "AES256")
        assert default.get("KMSMasterKeyID", "") == key

    return Run({"BucketName": "bucket-keys-test", "KmsKeyId": key}, check)


case("EnableS3BucketKeys-SSE-S3", f"{AWSLABS}/aws-EnableS3BucketKeys.yml")(
    lambda aws: _bucket_keys(aws, kms=False))
case("EnableS3BucketKeys-SSE-KMS", f"{AWSLABS}/aws-EnableS3BucketKeys.yml")(
    lambda aws: _bucket_keys(aws, kms=True))


@case("EnableSQSEncryption-SSE-KMS", f"{AWSLABS}/aws-EnableSQSEncryption.yml")
def _sqs_encryption(aws: Aws) -> Run:
    aws("sqs").create_queue(QueueName="orders")
    # The parameter's allowedPattern wants AWS's queue URL form; moto finds the queue by name.
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
    key = aws("kms").create_key()["KeyMetadata"]["KeyId"]

    def check(execution: dict[str, Any]) -> None:
        assert ran(execution) == ["SelectKeyType", "PutAttributeSseKms", "VerifySqsEncryptionKms"]
        attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"]
        assert attributes["KmsMasterKeyId"] == key
        assert attributes["KmsDataKeyReusePeriodSeconds"] == "300"

    return Run({"QueueUrl": url, "KmsKeyId": key}, check)


@case("CreateEKSClusterWithNodegroup", f"{AWSLABS}/aws-CreateEKSClusterWithNodegroup.yml")
def _eks(aws: Aws) -> Run:
    role = aws("iam").create_role(RoleName="eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    vpc = aws("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [aws("ec2").create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"][
        "SubnetId"] for i in (1, 2)]

    def check(execution: dict[str, Any]) -> None:
        [cluster] = execution["Outputs"]["CreateEKSCluster.CreateClusterResponse"]
        [group] = execution["Outputs"]["CreateNodegroup.CreateNodegroupResponse"]
        assert json.loads(cluster)["cluster"]["resourcesVpcConfig"]["subnetIds"] == subnets
        assert json.loads(group)["nodegroup"]["nodegroupName"] == "workers"
        described = aws("eks").describe_nodegroup(clusterName="demo", nodegroupName="workers")
        assert described["nodegroup"]["status"] == "ACTIVE"

    return Run({"AutomationAssumeRole": role, "ClusterName": "demo", "ClusterRoleArn": role,
                "NodegroupName": "workers", "NodegroupRoleArn": role, "SubnetIds": subnets},
               check)


def _approved(execution: dict[str, Any], step: str = "approve") -> None:
    assert outputs(execution, step)[f"{step}.ApprovalStatus"] == ["Approved"]


@case("StopEC2InstanceWithApproval", f"{AWSLABS}/aws-StopEC2InstanceWithApproval.json")
def _stop_approved(aws: Aws) -> Run:
    instance = aws.instance()
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert aws.state(instance) == "stopped"

    return Run({"InstanceId": [instance], "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("StartEC2InstanceWithApproval", f"{AWSLABS}/aws-StartEC2InstanceWithApproval.json")
def _start_approved(aws: Aws) -> Run:
    instance = aws.instance()
    aws("ec2").stop_instances(InstanceIds=[instance])
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert aws.state(instance) == "running"

    return Run({"InstanceId": [instance], "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("TerminateEC2InstanceWithApproval",
      f"{AWSLABS}/aws-TerminateEC2InstanceWithApproval.json")
def _terminate_approved(aws: Aws) -> Run:
    instance = aws.instance()
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert aws.state(instance) == "terminated"

    return Run({"InstanceId": [instance], "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("RestartEC2InstanceWithApproval", f"{AWSLABS}/Documents__aws-RestartEC2Instance.json")
def _restart_approved(aws: Aws) -> Run:
    instance = aws.instance()
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert ran(execution) == ["approve", "stopInstances", "startInstances"]
        assert aws.state(instance) == "running"

    return Run({"InstanceId": [instance], "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("DeleteCloudFormationWithApproval",
      f"{AWSLABS}/aws-DeleteCloudFormationWithApproval.json")
def _delete_stack_approved(aws: Aws) -> Run:
    stack = aws.stack("doomed")
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert aws.stack_status(stack) == "DELETE_COMPLETE"

    return Run({"StackNameOrId": stack, "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("DeleteCloudFormationStackWithApproval",
      f"{PUBLIC}/AWS-DeleteCloudFormationStackWithApproval.json")
def _delete_stack_approved_public(aws: Aws) -> Run:
    stack = aws.stack("doomed")
    topic, user = aws.approval_topic()

    def check(execution: dict[str, Any]) -> None:
        _approved(execution)
        assert aws.stack_status(stack) == "DELETE_COMPLETE"

    return Run({"StackNameOrId": "doomed", "Approvers": [user], "SNSTopicArn": topic}, check,
               APPROVE)


@case("HelloWorldChangeTemplate", f"{PUBLIC}/AWS-HelloWorldChangeTemplate.json")
def _change_template(aws: Aws) -> Run:
    topic, _ = aws.approval_topic()
    return Run({"ApproverSnsTopicArn": topic, "Approver": "approver", "ApproverType": "IamUser"},
               lambda execution: _approved(execution, "SimpleApproveAction"), APPROVE)


@case("CriticalIncidentRunbookTemplate",
      f"{PUBLIC}/AWSIncidents-CriticalIncidentRunbookTemplate.json")
def _incident(aws: Aws) -> Run:
    return Run({}, lambda execution: _expect(
        ran(execution), ["Triage", "Diagnosis", "Mitigation", "Recovery"]),
        [("Resume", {})] * 4)


@case("RestoreFromBackupEbsSOP",
      f"{PUBLIC}/AWSResilienceHub-RestoreFromBackupEbsSOP_2020-05-26.json")
def _restore_ebs(aws: Aws) -> Run:
    # gp3 with explicit Iops: moto returns Iops only when it was given (AWS always does).
    volume = aws("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8, VolumeType="gp3",
                                      Iops=3000)["VolumeId"]
    snapshot = aws("ec2").create_snapshot(VolumeId=volume)["SnapshotId"]

    def check(execution: dict[str, Any]) -> None:
        [created] = execution["Outputs"]["CreateEbsVolume.CreatedVolumeId"]
        [restored] = aws("ec2").describe_volumes(VolumeIds=[created])["Volumes"]
        assert (restored["SnapshotId"], restored["AvailabilityZone"], restored["VolumeType"],
                restored["Iops"]) == (snapshot, f"{REGION}b", "gp3", 3000)
        assert execution["Outputs"]["EbsDescribeSnapshot.RecoveryPoint"][0].startswith("20")
        assert int(execution["Outputs"]["OutputRecoveryTime.RecoveryTime"][0]) >= 0

    return Run({"EBSSnapshotIdentifier": snapshot, "TargetAvailabilityZone": f"{REGION}b",
                "AutomationAssumeRole": f"arn:aws:iam::{ACCOUNT}:role/AutomationRole"}, check,
               [("Resume", {})])


@case("SimulateAzOutageInAsgTest",
      f"{PUBLIC}/AWSResilienceHub-SimulateAzOutageInAsgTest_2020-07-23.json")
def _az_outage(aws: Aws) -> Run:
    ec2, autoscaling = aws("ec2"), aws("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {zone: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                       AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in enumerate("ab")}
    autoscaling.create_launch_configuration(LaunchConfigurationName="web", ImageId=aws.ami(),
                                            InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web", LaunchConfigurationName="web", MinSize=2, MaxSize=4,
        DesiredCapacity=2, VPCZoneIdentifier=subnets["a"])
    # moto launches every instance in the first subnet: attach two from the other zone.
    autoscaling.attach_instances(AutoScalingGroupName="web",
                                 InstanceIds=[aws.instance(subnets["b"]) for _ in range(2)])
    zones = {i["InstanceId"]: i["AvailabilityZone"] for i in autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]}
    aws("cloudwatch").put_metric_alarm(
        AlarmName="canary", Namespace="App", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    aws("cloudwatch").set_alarm_state(AlarmName="canary", StateValue="OK", StateReason="green")

    def check(execution: dict[str, Any]) -> None:
        assert ran(execution)[-4:] == ["TerminateInstances", "WaitForTestCompletion",
                                       "AssertAlarmToBeGreen", "ResumeLaunchProcessInAsg"]
        victims = outputs(execution, "GetInstancesInRandomAz")[
            "GetInstancesInRandomAz.InstanceIds"]
        [zone] = {zones[i] for i in victims}
        assert {i: aws.state(i) for i in zones} == {
            i: "terminated" if z == zone else "running" for i, z in zones.items()}
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])
        assert group["AutoScalingGroups"][0]["SuspendedProcesses"] == []

    return Run({"AutoScalingGroupName": "web", "CanaryAlarmName": "canary",
                "AutomationAssumeRole": f"arn:aws:iam::{ACCOUNT}:role/AutomationRole"}, check)


@case("MigrateIncidentManagerCloudWatchAlarms",
      f"{PUBLIC}/AWS-MigrateIncidentManagerCloudWatchAlarms.json")
def _migrate_alarms(aws: Aws) -> Run:
    bucket = f"im-migration-logs-{ACCOUNT}-{REGION}"
    aws("s3").create_bucket(Bucket=bucket)
    aws("cloudwatch").put_metric_alarm(
        AlarmName="cpu", Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
        Period=60, EvaluationPeriods=1, Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall"])

    def check(execution: dict[str, Any]) -> None:
        # No alarm starts an Incident Manager response plan, so there is nothing to migrate.
        assert ran(execution) == ["getCloudWatchAlarms", "CheckIfAlarmsExists"]
        assert outputs(execution, "getCloudWatchAlarms")["getCloudWatchAlarms.AlarmCount"] == ["0"]
        key = f"review/CloudWatch/review_CW_alarms_to_migrate_{ACCOUNT}_{REGION}.json"
        assert json.loads(aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()) == {}

    return Run({"AutomationAssumeRole": f"arn:aws:iam::{ACCOUNT}:role/IM-Migration-Automation-Role",
                "ApproverArn": f"arn:aws:iam::{ACCOUNT}:role/Admin", "S3BucketName": bucket,
                "SNSTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:Automation-IM-Migration-Approvals"},
               check)


# -- the test -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_runbook_runs_to_success(name: str, aws: Aws, service: AutomationService,
                                 moto_url: str) -> None:
    path, setup = CASES[name]
    runbook = corpus_dir() / path
    run = setup(aws)
    document = documents.load(runbook.read_text(), source=str(runbook))
    handle = service.start(document, run.parameters, document_name=runbook.stem,
                           aws_endpoint_url=moto_url)
    for signal, payload in run.signals:
        handle.signal(signal, payload)
    execution = asyncio.run(handle.run())
    failures = [(s["StepName"], s["StepStatus"], s.get("FailureMessage"))
                for s in execution["StepExecutions"] if s["StepStatus"] != "Success"]
    assert execution["AutomationExecutionStatus"] == "Success", failures
    assert not failures
    run.check(execution)
