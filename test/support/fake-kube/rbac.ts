/**
 * The fake API server's RBAC mode: a list of Role-style rules (apiGroups, resources incl.
 * "resource/subresource", verbs, optional resourceNames; "*" matches anything), checked the
 * way the real authorizer checks a namespaced Role. `create`, `list`, `watch` and
 * `deletecollection` never match a rule restricted by resourceNames, as in Kubernetes.
 * A rule with `namespace` came from a Role (through a RoleBinding) in that namespace and allows
 * requests in it only; a rule without one applies in every namespace and to requests across all
 * namespaces (a ClusterRole bound by a ClusterRoleBinding).
 */

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** The namespace of the Role this rule belongs to; absent for a cluster-wide (ClusterRoleBinding) rule. */
  namespace?: string;
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
  namespace: string;
}

function matches(list: string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

export function ruleAllows(rule: RbacRule, a: RequestAttributes): boolean {
  if (rule.namespace !== undefined && rule.namespace !== a.namespace) return false;
  if (!matches(rule.apiGroups, a.group)) return false;
  if (!matches(rule.verbs, a.verb)) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = rule.resources.includes('*') || rule.resources.includes(resource)
    || (a.subresource !== undefined && rule.resources.includes(`${a.resource}/*`))
    || (a.subresource !== undefined && rule.resources.includes(`*/${a.subresource}`));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) {
    if (a.name === undefined) return false;
    return rule.resourceNames.includes(a.name);
  }
  return true;
}

export function rbacAllows(rules: RbacRule[], a: RequestAttributes): boolean {
  return rules.some((r) => ruleAllows(r, a));
}

/** The message the real authorizer writes into a 403 Status. */
export function forbiddenMessage(a: RequestAttributes, user: string): string {
  const groupSuffix = a.group === '' ? '' : `.${a.group}`;
  const subject = a.name ? `${a.resource}${groupSuffix} "${a.name}"` : `${a.resource}${groupSuffix}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return `${subject} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" in the namespace "${a.namespace}"`;
}
