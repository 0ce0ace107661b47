import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as route53 from "aws-cdk-lib/aws-route53";
import { Construct } from "constructs";

export const REDIS_PORT = 6379;
/** The record in the reference zone that names Redis's primary endpoint. */
export const REDIS_RECORD_NAME = "redis";

export interface ReferenceCacheProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** The only security group allowed in. */
  readonly clients: ec2.ISecurityGroup;
  readonly zone: route53.IPrivateHostedZone;
}

/**
 * ElastiCache Redis 7.1 on one cache.t3.micro node, for the Socket.io adapter and LiveKit. A replication
 * group (of one node, no failover: this is the seed's size) rather than a bare cache cluster, because
 * only a replication group can be encrypted at rest.
 *
 * No encryption in transit: the bootstrap hands every container `REDIS_URL=redis://…` (plain TCP,
 * infra/bootstrap/compose-file.ts), which a TLS-only endpoint would refuse; the traffic never leaves the
 * private subnets, and only the instances' security group may connect.
 *
 * Its endpoint gets a fixed name in the VPC's private zone, `redis.launchgate.internal`, so that the
 * app's config (`app.redisEndpoint`, compiled into the bootstrap document) can name it at synth; the
 * generated ElastiCache hostname is only known after deploy.
 */
export class ReferenceCache extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** `redis.launchgate.internal`: the name the app's config holds, a CNAME of the primary endpoint. */
  readonly record: route53.CnameRecord;
  /** `host:port` as the app's config holds it. */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: ReferenceCacheProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "launchgate reference Redis: 6379 from the instances only",
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(props.clients, ec2.Port.tcp(REDIS_PORT), "Redis from the instances");

    const subnetGroup = new elasticache.CfnSubnetGroup(this, "Subnets", {
      description: "launchgate reference Redis: the instances' private subnets",
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, "Redis", {
      replicationGroupDescription: "launchgate reference: Socket.io adapter and LiveKit",
      engine: "redis",
      engineVersion: "7.1",
      cacheNodeType: "cache.t3.micro",
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      multiAzEnabled: false,
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: false,
    });

    this.record = new route53.CnameRecord(this, "Name", {
      zone: props.zone,
      recordName: REDIS_RECORD_NAME,
      domainName: this.replicationGroup.attrPrimaryEndPointAddress,
      ttl: Duration.minutes(1),
    });
    this.endpoint = `${REDIS_RECORD_NAME}.${props.zone.zoneName}:${REDIS_PORT}`;
  }
}
