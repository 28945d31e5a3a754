/**
 * The Role rules the agent's own Kubernetes code needs, per feature, in rbac.authorization
 * shape. The Helm chart's Role grants the same; test/actuate runs every Kubernetes code path
 * under exactly these rules in the fake API server, so a new call without a rule here fails
 * there (as FP_KUBE_FORBIDDEN) before it fails in a cluster.
 */

export interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface AgentPermissionNeeds {
  journalConfigMap?: boolean;
  events?: boolean;
  /** The Lease name when leader election is on. */
  leaseName?: string;
  /** The TaskManager Deployment scaled in reactive mode. */
  taskManagerDeployment?: string;
  taskManagerStatefulSet?: string;
  flinkDeployment?: boolean;
  /** A FlinkSessionJob is patched; its session cluster FlinkDeployment is read for its mode. */
  flinkSessionJob?: boolean;
}

export function agentRoleRules(n: AgentPermissionNeeds): RoleRule[] {
  const rules: RoleRule[] = [];
  if (n.journalConfigMap) rules.push({ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] });
  if (n.events) rules.push({ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] });
  if (n.taskManagerDeployment) rules.push({ apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: [n.taskManagerDeployment], verbs: ['get', 'patch'] });
  if (n.taskManagerStatefulSet) rules.push({ apiGroups: ['apps'], resources: ['statefulsets/scale'], resourceNames: [n.taskManagerStatefulSet], verbs: ['get', 'patch'] });
  if (n.flinkDeployment) rules.push({ apiGroups: ['flink.apache.org'], resources: ['flinkdeployments'], verbs: ['get', 'patch'] });
  if (n.flinkSessionJob) {
    rules.push({ apiGroups: ['flink.apache.org'], resources: ['flinksessionjobs'], verbs: ['get', 'patch'] });
    if (!n.flinkDeployment) rules.push({ apiGroups: ['flink.apache.org'], resources: ['flinkdeployments'], verbs: ['get'] });
  }
  if (n.leaseName) {
    // create cannot be restricted by resourceNames in Kubernetes RBAC.
    rules.push({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] });
    rules.push({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [n.leaseName], verbs: ['get', 'update'] });
  }
  return rules;
}
