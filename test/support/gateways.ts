import type { ExchangeGateway } from '../../src/exchange/gateway';
import type { GatewayProvider } from '../../src/trading/engine';

/** Replacements of some gateway methods, each built from the real gateway it wraps. */
export type GatewayHooks = { [K in keyof ExchangeGateway]?: (inner: ExchangeGateway) => ExchangeGateway[K] };

/**
 * The same gateways (real ccxt clients on the simulator, or paper), with some methods replaced: to
 * hold an order up, or to move the market at the exact moment a read returns.
 */
export function withGatewayHooks(base: GatewayProvider, hooks: GatewayHooks): GatewayProvider {
  return {
    invalidate: (id) => base.invalidate(id),
    forAccount(row) {
      return new Proxy(base.forAccount(row), {
        get(target, property, receiver) {
          const hook = hooks[property as keyof ExchangeGateway];
          return hook ? (hook as (inner: ExchangeGateway) => unknown)(target) : (Reflect.get(target, property, receiver) as unknown);
        },
      });
    },
  };
}
