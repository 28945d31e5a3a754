/**
 * Fleet mode inside the agent process (config `fleet.enabled`): the FleetManager on the agent's
 * scrape manager, rules and Flink clients, with its routes on the agent's port. Kubernetes is
 * reached with the connection settings of `actuation.kubernetes` (connection, kubeconfig,
 * namespace, timeout); the fleet's Leases and state ConfigMaps live in that namespace.
 */
import type { Logger } from '../../common/log.ts';
import { createKubeClients } from '../kube/client.ts';
import { durationMs } from '../actuate/config.ts';
import { firingAlerts } from '../scaling/pipeline.ts';
import { FleetManager } from '../fleet/manager.ts';
import { registerFleetMetrics, registerShardMetrics } from '../fleet/metrics.ts';
import { handleFleetRoutes } from '../server/fleet-routes.ts';
import type { AgentProcess } from './agent.ts';

/** The fleet of an agent process; start it after the agent (it needs the rules and the scrape manager). */
export function createFleet(agent: AgentProcess, logger: Logger, identity: string): FleetManager {
  const cfg = agent.config;
  const k = cfg.actuation.kubernetes;
  const kube = createKubeClients(
    k.connection === 'file' ? { kind: 'file', path: k.kubeconfig ?? '' } : { kind: k.connection },
    { ...(k.namespace ? { namespace: k.namespace } : {}), timeoutMs: durationMs(k.timeout) },
  );
  const fleet = new FleetManager({
    config: cfg, kube, identity: cfg.fleet.identity ?? identity, registry: agent.registry, logger,
    scrapes: agent.scrapes,
    flinkClient: (url) => agent.flinkClient(url),
    alerts: () => firingAlerts(agent.rules),
    shardTimed: registerShardMetrics(agent.registry),
  });
  registerFleetMetrics(agent.registry, () => fleet.status());
  return fleet;
}

export function fleetRoutes(fleet: () => FleetManager | null) {
  return (req: Parameters<typeof handleFleetRoutes>[0], res: Parameters<typeof handleFleetRoutes>[1]): Promise<boolean> => {
    const f = fleet();
    return Promise.resolve(f ? handleFleetRoutes(req, res, f) : false);
  };
}

/** An agent process in fleet mode, started: what `flowpilot agent` runs when `fleet.enabled` (and what tests start in-process). */
export async function startFleetAgent(config: AgentProcess['config'], logger: Logger, opts: { version: string; identity: string; onQuit?: () => void }): Promise<{ agent: AgentProcess; fleet: FleetManager; stop: () => Promise<void> }> {
  const { AgentProcess: Agent } = await import('./agent.ts');
  let fleet: FleetManager | null = null;
  const agent = new Agent({ config, logger, version: opts.version, extraRoutes: fleetRoutes(() => fleet), ...(opts.onQuit ? { onQuit: opts.onQuit } : {}) });
  await agent.start();
  const f = createFleet(agent, logger, opts.identity);
  fleet = f;
  await f.start();
  let stopping: Promise<void> | undefined;
  return {
    agent, fleet: f,
    stop: () => (stopping ??= (async () => {
      // The fleet first: its actions in flight use the agent's Flink clients, which agent.stop() closes.
      await f.stop();
      await agent.stop();
    })()),
  };
}
