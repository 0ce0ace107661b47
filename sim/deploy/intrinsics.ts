/**
 * SIMULATION — CloudFormation's intrinsic functions, as far as the launchgate template uses them
 * (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split) and the pseudo parameters. A form this
 * does not know throws: the world must not guess what the template says.
 */

export const SIM_REGION = "eu-west-2";
export const SIM_ACCOUNT = "123456789012";

/** What a resource answers to Ref and Fn::GetAtt once "created". */
export interface PhysicalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export type Resolver = (logicalId: string) => PhysicalResource;

const PSEUDO: Readonly<Record<string, string>> = {
  "AWS::Partition": "aws",
  "AWS::Region": SIM_REGION,
  "AWS::AccountId": SIM_ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::NoValue": "",
};

export function resolveValue(value: unknown, resource: Resolver, stackName: string): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, resource, stackName));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined && (key === "Ref" || key.startsWith("Fn::"))) {
    return intrinsic(key, argument, resource, stackName);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, resource, stackName)]));
}

function intrinsic(name: string, argument: unknown, resource: Resolver, stackName: string): unknown {
  const resolve = (v: unknown) => resolveValue(v, resource, stackName);
  switch (name) {
    case "Ref":
      return ref(String(argument), resource, stackName);
    case "Fn::GetAtt": {
      const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split(".");
      return getAtt(String(id), String(attribute), resource);
    }
    case "Fn::Join": {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolve(parts) as unknown[]).map(String).join(separator);
    }
    case "Fn::Select": {
      const [index, list] = argument as [number | string, unknown];
      return (resolve(list) as unknown[])[Number(index)];
    }
    case "Fn::Split": {
      const [separator, source] = argument as [string, unknown];
      return String(resolve(source)).split(separator);
    }
    case "Fn::Sub": {
      const [template, variables] = Array.isArray(argument)
        ? (argument as [string, Record<string, unknown>])
        : [String(argument), {}];
      return template.replace(/\$\{([^}!]+)\}/g, (_, expression: string) => {
        if (expression in variables) return String(resolve(variables[expression]));
        const [id, attribute] = expression.split(".");
        return attribute === undefined
          ? ref(String(id), resource, stackName)
          : getAtt(String(id), attribute, resource);
      });
    }
    default:
      throw new Error(`simulation: intrinsic ${name} is not modelled`);
  }
}

function ref(id: string, resource: Resolver, stackName: string): string {
  if (id === "AWS::StackName") return stackName;
  const pseudo = PSEUDO[id];
  if (pseudo !== undefined) return pseudo;
  return resource(id).ref;
}

function getAtt(id: string, attribute: string, resource: Resolver): string {
  const value = resource(id).attributes[attribute];
  if (value === undefined) throw new Error(`simulation: ${id} has no modelled attribute ${attribute}`);
  return value;
}
