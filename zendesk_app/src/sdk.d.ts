// Types for the parts of the Zendesk App Framework SDK package this app uses (the package ships none).
declare module "zendesk_app_framework_sdk" {
  export interface SdkClient {
    on(name: string, handler: (data: unknown) => void): void;
    get(path: string | string[]): Promise<Record<string, unknown>>;
    invoke(name: string, ...args: unknown[]): Promise<unknown>;
    request(options: Record<string, unknown>): Promise<unknown>;
    metadata(): Promise<unknown>;
    context(): Promise<unknown>;
  }
  const ZAFClient: { init(callback?: (context: unknown) => void): SdkClient | false };
  export default ZAFClient;
}
