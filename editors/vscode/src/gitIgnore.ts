// Whether git ignores a file, through the built-in git extension (`vscode.git`, API 1). Files
// git ignores (build output, virtualenvs, local config) are no place for suggestions, and may
// hold things their owner keeps out of the repository. Without the git extension (disabled,
// or a VS Code build without it) nothing counts as ignored: completion works as without git.

import * as vscode from "vscode";

interface GitRepository {
  checkIgnore(paths: string[]): Promise<Set<string>>;
}

interface GitApi {
  getRepository(uri: vscode.Uri): GitRepository | null;
}

interface GitExtension {
  getAPI(version: 1): GitApi;
}

const CHECK_TIMEOUT_MS = 1500; // the first answer waits for git; later ones are cached

export class GitIgnored implements vscode.Disposable {
  private readonly cache = new Map<string, Promise<boolean>>();
  private readonly watcher = vscode.workspace.createFileSystemWatcher("**/.gitignore");
  private api: Promise<GitApi | undefined> | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    const clear = () => this.cache.clear();
    this.watcher.onDidChange(clear);
    this.watcher.onDidCreate(clear);
    this.watcher.onDidDelete(clear);
  }

  /** True when git ignores `uri`; false for non-files, files outside a repository, and when
   * git cannot tell in time. */
  isIgnored(uri: vscode.Uri): Promise<boolean> {
    if (uri.scheme !== "file") {
      return Promise.resolve(false);
    }
    const key = uri.toString();
    let answer = this.cache.get(key);
    if (!answer) {
      answer = this.check(uri);
      this.cache.set(key, answer);
    }
    return answer;
  }

  forget(uri: vscode.Uri): void {
    this.cache.delete(uri.toString());
  }

  dispose(): void {
    this.watcher.dispose();
  }

  private async check(uri: vscode.Uri): Promise<boolean> {
    try {
      const repo = (await this.gitApi())?.getRepository(uri);
      if (!repo) {
        return false;
      }
      const timeout = new Promise<undefined>((resolve) =>
        setTimeout(() => resolve(undefined), CHECK_TIMEOUT_MS));
      const ignored = await Promise.race([repo.checkIgnore([uri.fsPath]), timeout]);
      if (ignored === undefined) {
        this.cache.delete(uri.toString()); // git is slow (a first scan): ask again next time
        return false;
      }
      return ignored.has(uri.fsPath);
    } catch (err) {
      this.log.debug(`git check-ignore ${uri.fsPath} failed: ${String(err)}`);
      this.cache.delete(uri.toString()); // try again next time
      return false;
    }
  }

  private gitApi(): Promise<GitApi | undefined> {
    this.api ??= (async () => {
      const extension = vscode.extensions.getExtension<GitExtension>("vscode.git");
      if (!extension) {
        this.log.info("the git extension is not available: git-ignored files are not skipped");
        return undefined;
      }
      const exports = extension.isActive ? extension.exports : await extension.activate();
      return exports.getAPI(1);
    })().catch((err: unknown) => {
      this.log.warn(`the git extension failed: ${String(err)}`);
      return undefined;
    });
    return this.api;
  }
}
